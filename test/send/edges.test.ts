import { PassThrough, Readable } from 'node:stream';
import { expect } from 'chai';
import { Observable, concat, filter, firstValueFrom, lastValueFrom, of, throwError, toArray } from 'rxjs';
import { SmtpError } from '../../lib/errors';
import { SendAllError } from '../../lib/send/send-all-error';
import type { Mail } from '../../lib/mail/mail';
import type { SmtpSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';
import { GREETING, type ScriptedServer, type Step, ehloReply, hello, scriptedServer, unstuff } from '../fixtures/scripted-server';
import { defaultServer } from '../fixtures/default-server';
import { turns } from '../hostile/hostile-server';
import { codeOf, connectTo, errorOf, numbered, outcomesOf, outcomesUntilError } from './helpers';

// Issue 4 points settled in the audit: a 421 to the end of data is a refusal (not uncertain),
// cancelling before DATA resets rather than closes when nothing else was pipelined, a cancelled
// body is released even if it never emits, and an input that errors ends the sendAll.

const FROM = 'MAIL FROM:<a@example.test>';
const ENVELOPE: Step[] = [
  { expect: FROM, send: '250 2.1.0 Ok\r\n' },
  { expect: 'RCPT TO:<b@example.test>', send: '250 2.1.5 Ok\r\n' },
];
const to = (body: Mail['body']): Mail => ({ from: 'a@example.test', to: 'b@example.test', body });

/** A body that never emits; records when it is subscribed and when that subscription ends. */
function silentBody(): { body: Observable<Uint8Array>; subscribed: Promise<void>; released: () => boolean } {
  let subscribed!: () => void;
  const wasSubscribed = new Promise<void>((resolve) => (subscribed = resolve));
  let released = false;
  const body = new Observable<Uint8Array>(() => {
    subscribed();
    return () => (released = true);
  });
  return { body, subscribed: wasSubscribed, released: () => released };
}

describe('send/edges', () => {
  let server: ScriptedServer | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    session?.dispose();
    await server?.close();
    server = session = undefined;
  });
  checkLeaks();

  describe('a 421 to the end of data', () => {
    it('fails that mail (ESERVERTEMP, not uncertain), lists the one pipelined behind it as not sent, and closes', async () => {
      server = await defaultServer({ '.': '421 4.3.2 Shutting down' });
      session = await connectTo(server.port);
      const mails = [numbered(0), numbered(1)];
      const { outcomes, error } = await outcomesUntilError(session.sendAll(mails));
      expect(outcomes.map(codeOf)).to.deep.equal(['ESERVERTEMP']);
      expect(!outcomes[0]!.ok && outcomes[0]!.mail).to.equal(mails[0]);
      expect(error.code).to.equal('ESERVERTEMP');
      expect(error.reply?.code).to.equal(421);
      expect(error.delivered).to.deep.equal([]);
      expect(error.uncertain).to.deep.equal([]);
      expect(error.notSent.map((r) => r.mail)).to.deep.equal([mails[1]]);
      expect(session.state.status).to.equal('closed');
      expect(session.state.error?.code).to.equal('ESERVERTEMP');
    });

    it('makes send() fail with ESERVERTEMP and the 421', async () => {
      server = await defaultServer({ '.': '421 4.3.2 Shutting down' });
      session = await connectTo(server.port);
      const error = await errorOf(session.send(numbered(0)));
      expect(error).to.be.instanceOf(SmtpError);
      expect(error.code).to.equal('ESERVERTEMP');
      expect(error.reply?.code).to.equal(421);
    });

    it('under LMTP, after one recipient got its 250: delivered to that one, the 421 listed for the other, then the session ends', async () => {
      server = await scriptedServer([
        { send: GREETING },
        { expect: /^LHLO /, send: ehloReply(['PIPELINING']) },
        ...ENVELOPE,
        { expect: 'RCPT TO:<c@example.test>', send: '250 2.1.5 Ok\r\n' },
        { expect: 'DATA', send: '354 go ahead\r\n' },
        { expectData: true, send: '250 2.0.0 <b@example.test> delivered\r\n421 4.3.2 Shutting down\r\n' },
      ]);
      session = await connectTo(server.port, { lmtp: true });
      const mail: Mail = { from: 'a@example.test', to: ['b@example.test', 'c@example.test'], body: 'hello\r\n' };
      // Every mail has its fate, so the call completes; the session then ends with the 421.
      const outcomes = await lastValueFrom(session.sendAll([mail]).pipe(toArray()));
      expect(outcomes.map(codeOf)).to.deep.equal(['ok']);
      const result = outcomes[0]!.ok ? outcomes[0]!.result : undefined;
      expect(result?.accepted).to.deep.equal(['b@example.test']);
      expect(result?.rejected.map((r) => [r.recipient, r.reply.code])).to.deep.equal([['c@example.test', 421]]);
      expect(session.state.status).to.equal('closed');
      expect(session.state.error?.code).to.equal('ESERVERTEMP');
    });

    it('to BDAT LAST: the same, the mail failed and not uncertain', async () => {
      server = await defaultServer(
        { BDAT: (line) => (line.endsWith(' LAST') ? '421 4.3.2 Shutting down' : '250 2.0.0 Ok') },
        { capabilities: ['PIPELINING', 'CHUNKING'] },
      );
      session = await connectTo(server.port);
      const outcomes = await lastValueFrom(session.sendAll([numbered(0)]).pipe(toArray()));
      expect(outcomes.map(codeOf)).to.deep.equal(['ESERVERTEMP']);
      expect(session.state.status).to.equal('closed');
      expect(session.state.error?.code).to.equal('ESERVERTEMP');
    });
  });

  describe('unsubscribing before DATA is written', () => {
    it('without PIPELINING: RSET, no DATA, and the session stays connected', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      server = await scriptedServer([
        ...hello([]),
        { expect: FROM },
        { until: gate },
        { send: '250 2.1.0 Ok\r\n' },
        { expect: 'RSET', send: '250 2.0.0 Ok\r\n' },
        { expect: 'NOOP', send: '250 2.0.0 Ok\r\n' },
      ]);
      session = await connectTo(server.port);
      const subscription = session.send(to('hello\r\n')).subscribe({ error: () => {} });
      await server.received(FROM);
      subscription.unsubscribe();
      expect(session.state.status).to.equal('connected');
      release();
      await lastValueFrom(session.noop());
      expect(server.lines.slice(1)).to.deep.equal([FROM, 'RSET', 'NOOP']);
      expect(server.failures).to.deep.equal([]);
    });

    it('without PIPELINING, once DATA is written: the connection is closed, never RSET', async () => {
      server = await scriptedServer([...hello([]), ...ENVELOPE, { expect: 'DATA' }]);
      session = await connectTo(server.port);
      const subscription = session.send(to('hello\r\n')).subscribe({ error: () => {} });
      await server.received('DATA');
      subscription.unsubscribe();
      await server.clientClosed;
      expect(session.state.status).to.equal('closed');
      expect(server.lines).not.to.include('RSET');
    });

    it('with PIPELINING (DATA already written with MAIL): the connection is closed, since an RSET could be read as content', async () => {
      server = await scriptedServer([...hello(['PIPELINING']), { expect: FROM }, { expect: 'RCPT TO:<b@example.test>' }, { expect: 'DATA' }]);
      session = await connectTo(server.port);
      const subscription = session.send(to('hello\r\n')).subscribe({ error: () => {} });
      await server.received('DATA');
      subscription.unsubscribe();
      await server.clientClosed;
      expect(session.state.status).to.equal('closed');
      expect(session.state.error).to.equal(undefined);
      expect(server.lines).not.to.include('RSET');
    });
  });

  describe('a cancelled body that never emits is released', () => {
    it('an Observable under BDAT: unsubscribed, and RSET sent', async () => {
      server = await scriptedServer([...hello(['PIPELINING', 'CHUNKING']), ...ENVELOPE, { expect: 'RSET', send: '250 2.0.0 Ok\r\n' }, { expect: 'NOOP', send: '250 2.0.0 Ok\r\n' }]);
      session = await connectTo(server.port);
      const silent = silentBody();
      const subscription = session.send(to(silent.body)).subscribe({ error: () => {} });
      await silent.subscribed;
      subscription.unsubscribe();
      await lastValueFrom(session.noop());
      expect(silent.released()).to.equal(true);
      expect(server.lines.slice(-2)).to.deep.equal(['RSET', 'NOOP']);
    });

    it('an Observable under DATA: unsubscribed, and the connection closed', async () => {
      server = await scriptedServer([...hello(['PIPELINING']), ...ENVELOPE, { expect: 'DATA', send: '354 go ahead\r\n' }]);
      session = await connectTo(server.port);
      const silent = silentBody();
      const subscription = session.send(to(silent.body)).subscribe({ error: () => {} });
      await silent.subscribed;
      subscription.unsubscribe();
      await server.clientClosed;
      expect(silent.released()).to.equal(true);
      expect(server.lines).not.to.include('.');
    });

    it('a Node stream under DATA, once it is being read: destroyed', async () => {
      server = await scriptedServer([...hello(['PIPELINING']), ...ENVELOPE, { expect: 'DATA', send: '354 go ahead\r\n' }]);
      session = await connectTo(server.port);
      const body = new PassThrough();
      const go = firstValueFrom(session.replies$.pipe(filter((r) => r.code === 354)));
      const subscription = session.send(to(body)).subscribe({ error: () => {} });
      await go;
      await turns(2);
      // Being read: a Readable is read through its async iterator, which waits for 'readable'.
      expect(body.listenerCount('readable')).to.be.greaterThan(0);
      subscription.unsubscribe();
      await server.clientClosed;
      expect(body.destroyed).to.equal(true);
    });
  });

  describe('an input (the mails themselves) that errors', () => {
    it('sends every mail it gave first, then ends the sendAll with EIO caused by the input error; the session stays connected', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      const failure = new Error('the mail source failed');
      const mails = [numbered(0), numbered(1)];
      const { outcomes, error } = await outcomesUntilError(session.sendAll(concat(of(...mails), throwError(() => failure))));
      expect(outcomes.map(codeOf)).to.deep.equal(['ok', 'ok']);
      expect(error).to.be.instanceOf(SendAllError);
      expect(error.code).to.equal('EIO');
      expect((error.cause as SmtpError).cause).to.equal(failure);
      expect(error.delivered).to.deep.equal([0, 1]);
      expect(error.uncertain).to.deep.equal([]);
      expect(error.notSent).to.deep.equal([]);
      expect(server.data.map((d) => unstuff(d).toString())).to.deep.equal(mails.map((m) => m.body));
      expect(session.state.status).to.equal('connected');
      expect(session.state.error).to.equal(undefined);
    });
  });

  describe('the default fake server under CHUNKING', () => {
    it('discards the BDAT chunks of a transaction ended by RSET (RFC 3030 4), as a real server does', async () => {
      server = await defaultServer({}, { capabilities: ['PIPELINING', 'CHUNKING'] });
      session = await connectTo(server.port);
      const broken = Readable.from(
        (async function* () {
          yield Buffer.from('line one\r\n');
          yield Buffer.from('line two\r\n');
          throw new Error('read error');
        })(),
      );
      const outcomes = await outcomesOf(session.sendAll([to(broken), to('second\r\n')]));
      expect(outcomes.map(codeOf)).to.deep.equal(['EIO', 'ok']);
      expect(server.lines.filter((l) => /^(BDAT|RSET)/.test(l))).to.deep.equal(['BDAT 10', 'RSET', 'BDAT 8 LAST']);
      expect(server.data.map(String)).to.deep.equal(['second\r\n']);
    });
  });
});
