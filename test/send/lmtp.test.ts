import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import type { Mail } from '../../lib/mail/mail';
import type { SmtpSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';
import { type ScriptedServer, type Step, ehloReply, GREETING, scriptedServer } from '../fixtures/scripted-server';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { codeOf, connectTo, errorOf, outcomesOf } from './helpers';

const FROM = 'MAIL FROM:<a@example.test>';
const mail = (to: string[], body = 'Subject: lmtp\r\n\r\nhello\r\n'): Mail => ({ from: 'a@example.test', to, body });

/** LHLO with PIPELINING, then one transaction whose RCPT replies and final replies are given. */
function lmtpTranscript(rcpt: [string, string][], finals: string[]): Step[] {
  return [
    { send: GREETING },
    { expect: /^LHLO /, send: ehloReply(['PIPELINING']) },
    { expect: FROM, send: '250 2.1.0 Ok\r\n' },
    ...rcpt.map(([to, reply]): Step => ({ expect: `RCPT TO:<${to}>`, send: `${reply}\r\n` })),
    { expect: 'DATA', send: '354 go ahead\r\n' },
    { expectData: true, send: finals.map((f) => `${f}\r\n`).join('') },
  ];
}

describe('send/lmtp', () => {
  let server: SmtpServerFixture | ScriptedServer | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    session?.dispose();
    await server?.close();
    server = session = undefined;
  });
  checkLeaks();

  describe('against smtp-server in LMTP mode', () => {
    it('greets with LHLO and delivers to every recipient, byte for byte', async () => {
      const lmtp = await startSmtpServer({ lmtp: true });
      server = lmtp;
      session = await connectTo(lmtp.port, { lmtp: true });
      const result = await lastValueFrom(session.send(mail(['b@example.test', 'c@example.test'], '.dot\nline')));
      expect(result.accepted).to.deep.equal(['b@example.test', 'c@example.test']);
      expect(result.rejected).to.deep.equal([]);
      expect(lmtp.messages.map((m) => [m.to, m.raw.toString()])).to.deep.equal([[['b@example.test', 'c@example.test'], '.dot\r\nline\r\n']]);
      expect(lmtp.messages[0]!.transmissionType).to.match(/^LMTP/);
    });

    it('reads one reply per recipient in a pipelined batch, keeping every mail in step', async () => {
      const lmtp = await startSmtpServer({ lmtp: true });
      server = lmtp;
      session = await connectTo(lmtp.port, { lmtp: true });
      const mails = [1, 2, 3].map((n) => mail(Array.from({ length: n }, (_, i) => `r${i}@example.test`), `message ${n}\r\n`));
      const outcomes = await outcomesOf(session.sendAll(mails));
      expect(outcomes.map((o) => o.ok && o.result.accepted.length)).to.deep.equal([1, 2, 3]);
      expect(lmtp.messages.map((m) => m.raw.toString())).to.deep.equal(['message 1\r\n', 'message 2\r\n', 'message 3\r\n']);
      expect(session.state.status).to.equal('connected');
    });
  });

  describe('per-recipient replies after the end of data', () => {
    it('one refused, one accepted: ok, and the result lists both', async () => {
      server = await scriptedServer(
        lmtpTranscript(
          [
            ['b@example.test', '250 2.1.5 Ok'],
            ['c@example.test', '250 2.1.5 Ok'],
          ],
          ['250 2.0.0 <b@example.test> delivered', '452 4.2.2 <c@example.test> mailbox full'],
        ),
      );
      session = await connectTo(server.port, { lmtp: true });
      const result = await lastValueFrom(session.send(mail(['b@example.test', 'c@example.test'])));
      expect(result.accepted).to.deep.equal(['b@example.test']);
      expect(result.rejected.map((r) => [r.recipient, r.reply.code])).to.deep.equal([['c@example.test', 452]]);
      expect(server.failures).to.deep.equal([]);
    });

    it('a recipient refused at RCPT gets no reply after the end of data', async () => {
      server = await scriptedServer([
        ...lmtpTranscript(
          [
            ['b@example.test', '550 5.1.1 No such user'],
            ['c@example.test', '250 2.1.5 Ok'],
          ],
          ['250 2.0.0 <c@example.test> delivered'],
        ),
        { expect: 'NOOP', send: '250 2.0.0 Ok\r\n' },
      ]);
      session = await connectTo(server.port, { lmtp: true });
      const result = await lastValueFrom(session.send(mail(['b@example.test', 'c@example.test'])));
      expect(result.accepted).to.deep.equal(['c@example.test']);
      expect(result.rejected.map((r) => [r.recipient, r.reply.code])).to.deep.equal([['b@example.test', 550]]);
      // One reply was owed and one came: nothing is left over to shift the next command.
      expect((await lastValueFrom(session.noop())).lines).to.deep.equal(['2.0.0 Ok']);
    });

    it('every recipient refused: the mail fails with the last reply, and the next one goes', async () => {
      server = await scriptedServer([
        ...lmtpTranscript(
          [
            ['b@example.test', '250 2.1.5 Ok'],
            ['c@example.test', '250 2.1.5 Ok'],
          ],
          ['552 5.2.2 <b@example.test> over quota', '452 4.2.2 <c@example.test> mailbox full'],
        ),
        { expect: FROM, send: '250 2.1.0 Ok\r\n' },
        { expect: 'RCPT TO:<d@example.test>', send: '250 2.1.5 Ok\r\n' },
        { expect: 'DATA', send: '354 go ahead\r\n' },
        { expectData: true, send: '250 2.0.0 <d@example.test> delivered\r\n' },
      ]);
      session = await connectTo(server.port, { lmtp: true });
      const outcomes = await outcomesOf(session.sendAll([mail(['b@example.test', 'c@example.test']), mail(['d@example.test'])]));
      expect(outcomes.map(codeOf)).to.deep.equal(['ESERVERTEMP', 'ok']);
      expect(!outcomes[0]!.ok && outcomes[0]!.error.reply?.code).to.equal(452);
      expect(server.failures).to.deep.equal([]);
    });

    it('a server that closes between the per-recipient replies leaves the mail uncertain', async () => {
      server = await scriptedServer([
        ...lmtpTranscript(
          [
            ['b@example.test', '250 2.1.5 Ok'],
            ['c@example.test', '250 2.1.5 Ok'],
          ],
          ['250 2.0.0 <b@example.test> delivered'],
        ),
        { close: true },
      ]);
      session = await connectTo(server.port, { lmtp: true });
      const m = mail(['b@example.test', 'c@example.test']);
      const error = await errorOf(session.send(m));
      expect(error.code).to.equal('ESHUTDOWN');
      expect(error).to.have.property('uncertain').that.deep.equals([{ index: 0, mail: m }]);
    });
  });
});
