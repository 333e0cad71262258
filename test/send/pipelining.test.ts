import { Readable } from 'node:stream';
import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import type { SessionOptions } from '../../lib/options';
import { SendAllError } from '../../lib/send/send-all-error';
import type { SmtpSession } from '../../lib/session';
import { checkAccounting } from '../fixtures/accounting';
import { CallRecorder } from '../fixtures/call-recorder';
import { checkLeaks } from '../fixtures/handles';
import { defaultServerStore } from '../fixtures/mail-store';
import { markedMail } from '../fixtures/marked-mail';
import { type ScriptedServer, type Step, hello, scriptedServer } from '../fixtures/scripted-server';
import { defaultServer } from '../fixtures/default-server';
import { connectTo, errorOf, outcomesOf } from './helpers';

const FROM = 'MAIL FROM:<a@example.test>';

/** One DATA transaction whose body is the single line `body`, read as lines so `reads` shows it. */
function dataTransaction(to: string, body: string): Step[] {
  return [
    { expect: FROM, send: '250 2.1.0 Ok\r\n' },
    { expect: `RCPT TO:<${to}>`, send: '250 2.1.5 Ok\r\n' },
    { expect: 'DATA', send: '354 go ahead\r\n' },
    { expect: body },
    { expect: '.', send: `250 2.0.0 Ok: queued as Q${body}\r\n` },
  ];
}

/** One BDAT transaction with the single-line body `body`, its content read as a line. */
function bdatTransaction(to: string, body: string): Step[] {
  return [
    { expect: FROM, send: '250 2.1.0 Ok\r\n' },
    { expect: `RCPT TO:<${to}>`, send: '250 2.1.5 Ok\r\n' },
    { expect: `BDAT ${body.length + 2} LAST` },
    { expect: body, send: `250 2.0.0 Ok: queued as Q${body}\r\n` },
  ];
}

const mail = (to: string, body: string) => ({ from: 'a@example.test', to, body: `${body}\r\n` });

describe('send/pipelining', () => {
  let server: ScriptedServer | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    session?.dispose();
    await server?.close();
    server = session = undefined;
  });
  checkLeaks();

  describe('with PIPELINING', () => {
    it('writes MAIL, every RCPT and DATA in one write', async () => {
      server = await scriptedServer([
        ...hello(['PIPELINING']),
        { expect: FROM, send: '250 2.1.0 Ok\r\n' },
        { expect: 'RCPT TO:<b@example.test>', send: '250 2.1.5 Ok\r\n' },
        { expect: 'RCPT TO:<c@example.test>', send: '250 2.1.5 Ok\r\n' },
        { expect: 'DATA', send: '354 go ahead\r\n' },
        { expect: 'one' },
        { expect: '.', send: '250 2.0.0 Ok: queued as Q1\r\n' },
      ]);
      session = await connectTo(server.port);
      const result = await lastValueFrom(session.send({ from: 'a@example.test', to: ['b@example.test', 'c@example.test'], body: 'one\r\n' }));
      expect(result.accepted).to.deep.equal(['b@example.test', 'c@example.test']);
      expect(server.reads[1]).to.deep.equal([FROM, 'RCPT TO:<b@example.test>', 'RCPT TO:<c@example.test>', 'DATA']);
      expect(server.failures).to.deep.equal([]);
    });

    it('writes the end of data and the next mail\'s MAIL, RCPT and DATA in one write', async () => {
      server = await scriptedServer([
        ...hello(['PIPELINING']),
        ...dataTransaction('b@example.test', 'one'),
        ...dataTransaction('c@example.test', 'two'),
        ...dataTransaction('d@example.test', 'three'),
      ]);
      session = await connectTo(server.port);
      const outcomes = await outcomesOf(
        session.sendAll([mail('b@example.test', 'one'), mail('c@example.test', 'two'), mail('d@example.test', 'three')]),
      );
      expect(outcomes.map((o) => o.ok && o.result.queueId)).to.deep.equal(['Qone', 'Qtwo', 'Qthree']);
      expect(server.reads.slice(1)).to.deep.equal([
        [FROM, 'RCPT TO:<b@example.test>', 'DATA'],
        ['one', '.', FROM, 'RCPT TO:<c@example.test>', 'DATA'],
        ['two', '.', FROM, 'RCPT TO:<d@example.test>', 'DATA'],
        ['three', '.'],
      ]);
      expect(server.failures).to.deep.equal([]);
    });

    it('writes whole BDAT mails back to back in one write, an RSET ahead of each one behind an unanswered mail', async () => {
      server = await scriptedServer([
        ...hello(['PIPELINING', 'CHUNKING']),
        ...bdatTransaction('b@example.test', 'one'),
        { expect: 'RSET', send: '250 2.0.0 Ok\r\n' },
        ...bdatTransaction('c@example.test', 'two'),
      ]);
      session = await connectTo(server.port);
      const outcomes = await outcomesOf(session.sendAll([mail('b@example.test', 'one'), mail('c@example.test', 'two')]));
      expect(outcomes.map((o) => o.ok && o.result.queueId)).to.deep.equal(['Qone', 'Qtwo']);
      expect(server.reads.slice(1)).to.deep.equal([
        [FROM, 'RCPT TO:<b@example.test>', 'BDAT 5 LAST', 'one', 'RSET', FROM, 'RCPT TO:<c@example.test>', 'BDAT 5 LAST', 'two'],
      ]);
      expect(server.failures).to.deep.equal([]);
    });

    it('a lone BDAT mail is written whole too: one turn, no wait for the envelope replies', async () => {
      server = await scriptedServer([...hello(['PIPELINING', 'CHUNKING']), ...bdatTransaction('b@example.test', 'one')]);
      session = await connectTo(server.port);
      const outcomes = await outcomesOf(session.sendAll([mail('b@example.test', 'one')]));
      expect(outcomes.map((o) => o.ok)).to.deep.equal([true]);
      expect(server.reads.slice(1)).to.deep.equal([[FROM, 'RCPT TO:<b@example.test>', 'BDAT 5 LAST', 'one']]);
      expect(server.failures).to.deep.equal([]);
    });

    it('streams a body as BDAT chunks without waiting for their replies, the last one with LAST', async () => {
      server = await scriptedServer([
        ...hello(['PIPELINING', 'CHUNKING']),
        { expect: FROM, send: '250 2.1.0 Ok\r\n' },
        { expect: 'RCPT TO:<b@example.test>', send: '250 2.1.5 Ok\r\n' },
        { expect: 'BDAT 5' },
        { expect: 'one' },
        { expect: 'BDAT 5' },
        { expect: 'two' },
        { expect: 'BDAT 7 LAST' },
        { expect: 'three', send: '250 2.0.0 5 octets\r\n250 2.0.0 5 octets\r\n250 2.0.0 Ok: queued as Q3\r\n' },
      ]);
      session = await connectTo(server.port);
      const body = Readable.from(['one\r\n', 'two\r\n', 'three'].map((s) => Buffer.from(s)));
      const result = await lastValueFrom(session.send({ from: 'a@example.test', to: 'b@example.test', body }));
      expect(result.queueId).to.equal('Q3');
      expect(result.bytes).to.equal(17);
      expect(server.failures).to.deep.equal([]);
    });

    it('uses DATA despite CHUNKING when the session says chunking: false', async () => {
      server = await scriptedServer([...hello(['PIPELINING', 'CHUNKING']), ...dataTransaction('b@example.test', 'one')]);
      session = await connectTo(server.port, { chunking: false });
      await lastValueFrom(session.send(mail('b@example.test', 'one')));
      expect(server.lines).to.include('DATA');
      expect(server.lines.some((l) => l.startsWith('BDAT'))).to.equal(false);
      expect(server.failures).to.deep.equal([]);
    });
  });

  describe('without PIPELINING', () => {
    it('sends one command per write and waits for each reply', async () => {
      server = await scriptedServer([
        ...hello([]),
        ...dataTransaction('b@example.test', 'one'),
        ...dataTransaction('c@example.test', 'two'),
      ]);
      session = await connectTo(server.port);
      const outcomes = await outcomesOf(session.sendAll([mail('b@example.test', 'one'), mail('c@example.test', 'two')]));
      expect(outcomes.map((o) => o.ok)).to.deep.equal([true, true]);
      expect(server.reads.slice(1)).to.deep.equal([
        [FROM],
        ['RCPT TO:<b@example.test>'],
        ['DATA'],
        ['one', '.'],
        [FROM],
        ['RCPT TO:<c@example.test>'],
        ['DATA'],
        ['two', '.'],
      ]);
    });

    it('does not send RCPT after MAIL was refused', async () => {
      server = await scriptedServer([...hello([]), { expect: FROM, send: '550 5.7.1 Not you\r\n' }]);
      session = await connectTo(server.port);
      const error = await errorOf(session.send(mail('b@example.test', 'one')));
      expect(error.code).to.equal('ESERVERPERM');
      expect(error.reply?.code).to.equal(550);
      expect(server.lines.slice(1)).to.deep.equal([FROM]);
      expect(session.state.status).to.equal('connected');
    });
  });

  describe('replies matched strictly in order', () => {
    it('an extra reply shifts the rest and ends the session with ESERVERSYNC', async () => {
      server = await scriptedServer([
        ...hello(['PIPELINING']),
        { expect: FROM, send: '250 2.1.0 Ok\r\n250 2.1.0 Ok again\r\n' },
        { expect: 'RCPT TO:<b@example.test>', send: '250 2.1.5 Ok\r\n' },
        { expect: 'DATA', send: '354 go ahead\r\n' },
        { stall: true },
      ]);
      session = await connectTo(server.port);
      const error = await errorOf(session.send(mail('b@example.test', 'one')));
      expect(error).to.be.instanceOf(SendAllError);
      expect(error.code).to.equal('ESERVERSYNC');
      expect(session.state.status).to.equal('closed');
    });

    it('a missing reply shifts the rest and ends the session with ESERVERSYNC', async () => {
      server = await scriptedServer([
        ...hello(['PIPELINING']),
        { expect: FROM, send: '250 2.1.0 Ok\r\n' },
        { expect: 'RCPT TO:<b@example.test>' },
        { expect: 'DATA', send: '354 go ahead\r\n' },
        { stall: true },
      ]);
      session = await connectTo(server.port);
      const error = await errorOf(session.send(mail('b@example.test', 'one')));
      expect(error).to.be.instanceOf(SendAllError);
      expect(error.code).to.equal('ESERVERSYNC');
      expect((error as SendAllError).notSent).to.have.length(1);
      expect(server.lines).not.to.include('.');
    });
  });

  // Issue 10, defect 2: Haraka 3.3.4 answers 503 to what was pipelined behind an end of DATA; every
  // second mail failed, and the pool called it permanent though the server never considered it.
  describe('a server that refuses commands pipelined behind an end of DATA, as Haraka 3.3.4 does', () => {
    const MAILS = 6;

    /** A sendAll of MAILS marked mails against such a server: the accounting, the 503s the session read, its pipelining after. */
    async function sendAllTo(name: string, options: SessionOptions = {}) {
      server = await defaultServer({}, { capabilities: ['PIPELINING'], refusePipelinedAfterData: true });
      const store = defaultServerStore(server);
      const since = store.mark();
      session = await connectTo(server.port, options);
      let refusals = 0;
      session.replies$.subscribe((reply) => (refusals += reply.code === 503 ? 1 : 0));
      const mails = Array.from({ length: MAILS }, (_, i) => markedMail(`${name}-${i}`));
      const call = new CallRecorder(`sendAll ${name}`, 'sendAll', mails).start(session.sendAll(mails));
      await call.ended;
      const pipelining = session.state.pipelining;
      session.dispose();
      const record = call.finish();
      return { record, refusals, pipelining, violations: await checkAccounting({ calls: [record], store, since }) };
    }

    it('the mail refused behind an end of data is sent again once that end of data is answered: every mail delivered once', async () => {
      const { record, refusals, pipelining, violations } = await sendAllTo('haraka-across');
      expect(violations).to.deep.equal([]);
      expect(record.fates).to.deep.equal(Array(MAILS).fill(['delivered']));
      // One refusal only (the second mail's MAIL, RCPT and DATA): from then on the connection waits.
      expect(refusals).to.equal(3);
      expect(pipelining).to.equal('within-mail');
      expect(server!.messages).to.have.length(MAILS);
    });

    it("pipelining: 'within-mail' chosen up front: no 503 at all, and MAIL, RCPT and DATA still leave in one write", async () => {
      const { record, refusals, pipelining, violations } = await sendAllTo('haraka-within', { pipelining: 'within-mail' });
      expect(violations).to.deep.equal([]);
      expect(record.fates).to.deep.equal(Array(MAILS).fill(['delivered']));
      expect(refusals).to.equal(0);
      expect(pipelining).to.equal('within-mail');
      const envelopes = server!.reads.filter((read) => read[0]!.startsWith('MAIL'));
      expect(envelopes.map((read) => read.map((line) => line.split(/[ :]/)[0]))).to.deep.equal(Array(MAILS).fill(['MAIL', 'RCPT', 'DATA']));
    });
  });
});
