import { PassThrough, Readable } from 'node:stream';
import { expect } from 'chai';
import { Observable, lastValueFrom } from 'rxjs';
import { SendAllError } from '../../lib/send/send-all-error';
import type { Mail } from '../../lib/mail/mail';
import type { SmtpSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';
import { type ScriptedServer, type Step, hello, scriptedServer, unstuff } from '../fixtures/scripted-server';
import { defaultServer } from '../fixtures/default-server';
import { codeOf, connectTo, errorOf, numbered, outcomesOf } from './helpers';

const FROM = 'MAIL FROM:<a@example.test>';
const ENVELOPE: Step[] = [
  { expect: FROM, send: '250 2.1.0 Ok\r\n' },
  { expect: 'RCPT TO:<b@example.test>', send: '250 2.1.5 Ok\r\n' },
];

/** A body that yields `chunks` and then fails, as a broken file or upstream would. */
function failingBody(...chunks: string[]): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunks) yield Buffer.from(chunk);
      throw new Error('read error in the middle of the body');
    })(),
  );
}

const to = (body: Mail['body']): Mail => ({ from: 'a@example.test', to: 'b@example.test', body });

describe('send/abort', () => {
  let server: ScriptedServer | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    session?.dispose();
    await server?.close();
    server = session = undefined;
  });
  checkLeaks();

  describe('a body stream that fails in the middle', () => {
    it('under DATA: never sends the ".", closes the connection, and the mail failed (its body cannot be read again)', async () => {
      server = await scriptedServer([...hello(['PIPELINING']), ...ENVELOPE, { expect: 'DATA', send: '354 go ahead\r\n' }, { expect: 'line one' }]);
      session = await connectTo(server.port);
      const mail = to(failingBody('line one\r\n', 'line two\r\n'));
      const error = await errorOf(session.send(mail));
      expect(error).not.to.be.instanceOf(SendAllError);
      expect(error.code).to.equal('EIO');
      expect(error.message).to.contain('read error in the middle of the body');
      await server.clientClosed;
      expect(server.lines).not.to.include('.');
      expect(session.state.status).to.equal('closed');
    });

    it('under BDAT: sends RSET instead of BDAT LAST, and sendAll goes on with the next mail', async () => {
      server = await scriptedServer([
        ...hello(['PIPELINING', 'CHUNKING']),
        ...ENVELOPE,
        { expect: 'BDAT 10' },
        { expectBytes: 10, send: '250 2.0.0 10 octets\r\n' },
        { expect: 'RSET', send: '250 2.0.0 Ok\r\n' },
        ...ENVELOPE,
        { expect: 'BDAT 8 LAST' },
        { expectBytes: 8, send: '250 2.0.0 Ok: queued as NEXT\r\n' },
      ]);
      session = await connectTo(server.port);
      const outcomes = await outcomesOf(session.sendAll([to(failingBody('line one\r\n', 'line two\r\n')), to('second')]));
      expect(outcomes.map(codeOf)).to.deep.equal(['EIO', 'ok']);
      expect(outcomes[1]!.ok && outcomes[1]!.result.queueId).to.equal('NEXT');
      expect(server.data.map(String)).to.deep.equal(['line one\r\n', 'second\r\n']);
      expect(server.lines.filter((l) => l.startsWith('BDAT'))).to.deep.equal(['BDAT 10', 'BDAT 8 LAST']);
      expect(server.failures).to.deep.equal([]);
      expect(session.state.status).to.equal('connected');
    });

    it('as an Observable that errors: the same, under DATA', async () => {
      server = await scriptedServer([...hello(['PIPELINING']), ...ENVELOPE, { expect: 'DATA', send: '354 go ahead\r\n' }, { expect: 'part' }]);
      session = await connectTo(server.port);
      let fail!: () => void;
      const failed = new Promise<void>((resolve) => (fail = resolve));
      const body = new Observable<Uint8Array>((subscriber) => {
        subscriber.next(Buffer.from('part\r\n'));
        void failed.then(() => subscriber.error(new Error('upstream failed')));
      });
      const sending = errorOf(session.send(to(body)));
      await server.received('part');
      fail();
      const error = await sending;
      expect(error.code).to.equal('EIO');
      await server.clientClosed;
      expect(server.lines).not.to.include('.');
    });
  });

  describe('unsubscribing from send()', () => {
    it('in the middle of a DATA body: no "." after the truncated body, the connection is closed', async () => {
      server = await scriptedServer([...hello(['PIPELINING']), ...ENVELOPE, { expect: 'DATA', send: '354 go ahead\r\n' }, { expect: 'first half' }]);
      session = await connectTo(server.port);
      const body = new PassThrough();
      const subscription = session.send(to(body)).subscribe({ error: () => {} });
      body.write('first half\r\n');
      await server.received('first half');
      subscription.unsubscribe();
      body.end('second half\r\n');
      await server.clientClosed;
      expect(server.lines).not.to.include('.');
      expect(server.lines).not.to.include('second half');
      expect(session.state.status).to.equal('closed');
      expect(session.state.error).to.equal(undefined);
    });

    it('in the middle of a BDAT body: RSET, never BDAT LAST, and the session stays usable', async () => {
      server = await scriptedServer([
        ...hello(['PIPELINING', 'CHUNKING']),
        ...ENVELOPE,
        { expect: 'BDAT 12' },
        { expectBytes: 12, send: '250 2.0.0 12 octets\r\n' },
        { expect: 'RSET', send: '250 2.0.0 Ok\r\n' },
        { expect: 'NOOP', send: '250 2.0.0 Ok\r\n' },
      ]);
      session = await connectTo(server.port);
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      // Two chunks now (the first goes out as BDAT 12 once the second is here), the end much later.
      const body = new Observable<Uint8Array>((subscriber) => {
        subscriber.next(Buffer.from('first half\r\n'));
        subscriber.next(Buffer.from('second half\r\n'));
        void finished.then(() => subscriber.complete());
      });
      const subscription = session.send(to(body)).subscribe({ error: () => {} });
      await server.received('BDAT 12');
      subscription.unsubscribe();
      expect(session.state.status).to.equal('connected');
      finish();
      await lastValueFrom(session.noop());
      expect(server.lines.slice(1)).to.deep.equal([FROM, 'RCPT TO:<b@example.test>', 'BDAT 12', 'RSET', 'NOOP']);
      expect(server.failures).to.deep.equal([]);
    });

    it('while waiting for MAIL without PIPELINING: nothing of that mail is written after the RSET', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      server = await scriptedServer([
        ...hello(['CHUNKING']),
        { expect: FROM },
        { until: gate },
        { send: '250 2.1.0 Ok\r\n' },
        { expect: 'RSET', send: '250 2.0.0 Ok\r\n' },
        { expect: 'NOOP', send: '250 2.0.0 Ok\r\n' },
        { expect: 'NOOP', send: '250 2.0.0 Ok\r\n' },
      ]);
      session = await connectTo(server.port);
      const written: string[] = [];
      session.transcript$.subscribe((t) => t.direction === 'client' && written.push(t.line));
      const subscription = session.send(to('hello\r\n')).subscribe({ error: () => {} });
      await server.received(FROM);
      subscription.unsubscribe();
      const first = lastValueFrom(session.noop());
      release();
      await first;
      await lastValueFrom(session.noop());
      // A write caused by the MAIL reply would have happened within the round trips since.
      expect(written).to.deep.equal([FROM, 'RSET', 'NOOP', 'NOOP']);
      expect(server.failures).to.deep.equal([]);
    });

    it('after the end of data: nothing is cut, the message is delivered as sent', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      const written = new Promise<void>((resolve) =>
        session!.transcript$.subscribe((t) => {
          if (t.direction === 'client' && t.line === '.') resolve();
        }),
      );
      const subscription = session.send(numbered(0)).subscribe({ error: () => {} });
      await written;
      subscription.unsubscribe();
      expect(session.state.status).to.equal('connected');
      await lastValueFrom(session.noop());
      expect(server.data.map((d) => unstuff(d).toString())).to.deep.equal([numbered(0).body]);
      expect(server.lines.slice(-1)).to.deep.equal(['NOOP']);
    });
  });
});
