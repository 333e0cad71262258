import { Readable } from 'node:stream';
import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import { EXIM } from '../fixtures/shared-servers';
import { USER } from '../fixtures/smtp-server';
import { errorOf } from '../send/helpers';
import { sessionFixture } from '../session/session-fixture';
import { itPoolsExactlyOnce, itReportsEachRecipient, itSendsAllExactlyOnce, itStoresBodiesExactly } from './behaviours';
import { itSendsOneMailWithTheCli } from './cli';
import { itAuthenticatesWithEach, itFindsNoAuth, itSendsSmtpUtf8 } from './extensions';
import { connectTo, interopTarget, stepsOf } from './target';

// Exim 4.96 as shared/servers/exim-up.sh runs it: PIPELINING, CHUNKING, DSN (reports stored as
// mail from <>), SMTPUTF8, STARTTLS; AUTH PLAIN LOGIN CRAM-MD5 only after STARTTLS. It stores
// an empty message as CRLF, and from the 11th message of a connection on its queue runner delivers.
describe('interop with Exim 4.96', function () {
  this.timeout(60_000);
  const exim = interopTarget(EXIM);
  const f = sessionFixture();

  describe('connect', () => {
    it('greets, upgrades with STARTTLS trusting its cert.pem, and reads its extensions again', async () => {
      const { session, states, transcript } = await connectTo(f, exim, { starttls: true });
      expect(stepsOf(states)).to.deep.equal(['connecting', 'greeting', 'ehlo', 'starttls', 'ehlo+tls', 'connected+tls']);
      expect(transcript[0]).to.match(/^S: 220 localhost ESMTP Exim 4\.96 /);
      expect(states.at(-1)!.tls).to.include({ authorized: true });
      expect(Object.fromEntries(session.capabilities!)).to.deep.include({
        SIZE: '20971520',
        PIPELINING: '',
        CHUNKING: '',
        DSN: '',
        SMTPUTF8: '',
        '8BITMIME': '',
        AUTH: 'PLAIN LOGIN CRAM-MD5',
      });
      expect(session.capabilities!.has('STARTTLS')).to.equal(false);
    });

    itFindsNoAuth(f, exim, 'before STARTTLS', { allowInsecureAuth: true });
  });

  describe('AUTH, offered only after STARTTLS', () => {
    const DRIVER: Record<string, string> = { PLAIN: 'plain', LOGIN: 'login', 'CRAM-MD5': 'cram' };
    itAuthenticatesWithEach(f, exim, Object.keys(DRIVER), {
      starttls: true,
      recorded: (mechanism) => ({ sasl_username: USER, sasl_method: DRIVER[mechanism], client_protocol: 'esmtpsa' }),
    });
  });

  describe('bodies through BDAT (CHUNKING)', () => {
    itStoresBodiesExactly(f, exim, { transfer: 'BDAT', empty: '\r\n' });
  });

  describe('bodies through DATA (chunking: false)', () => {
    itStoresBodiesExactly(f, exim, { transfer: 'DATA', empty: '\r\n', connect: { chunking: false } });

    it('stores a message without a header section with a blank line first (its documented exception)', async () => {
      const { session } = await connectTo(f, exim, { chunking: false });
      const from = exim.store.sender('no-header');
      await lastValueFrom(session.send({ from, to: 'b@example.test', body: 'just a line of text\r\n' }));
      const [stored] = await exim.store.from(from, 1);
      expect(stored!.eml.toString()).to.equal('\r\njust a line of text\r\n');
    });
  });

  describe('pipelining, sendAll and pool', () => {
    it('writes a lone mail whole under CHUNKING + PIPELINING: MAIL, every RCPT and BDAT LAST in one turn', async () => {
      const { session, transcript } = await connectTo(f, exim);
      const from = exim.store.sender('pipelined');
      const start = transcript.length;
      const result = await lastValueFrom(session.send({ from, to: ['b@example.test', 'c@example.test'], body: 'Subject: two turns\r\n\r\nhi\r\n' }));
      expect(transcript.slice(start, start + 7).map((line) => line.slice(0, 7))).to.deep.equal([
        'C: MAIL',
        'C: RCPT',
        'C: RCPT',
        'C: BDAT',
        'S: 250 ',
        'S: 250 ',
        'S: 250 ',
      ]);
      // Exim answers BDAT LAST with two lines, "250- 20 byte chunk, total 20" and "250 OK id=...".
      expect(result.reply.lines).to.have.length(2);
      const [stored] = await exim.store.from(from, 1);
      expect(result.queueId).to.equal(stored!.json.queue_id);
    });

    itSendsAllExactlyOnce(f, exim, 500);
    itPoolsExactlyOnce(exim, 300);
  });

  describe('recipients', () => {
    itReportsEachRecipient(f, exim, 450);
  });

  describe('extensions', () => {
    itSendsSmtpUtf8(f, exim);

    it('DSN: NOTIFY=SUCCESS makes Exim store a delivery report to the sender, from <>', async () => {
      const { session, written } = await connectTo(f, exim);
      const from = exim.store.sender('dsn');
      const dsn = { notify: ['SUCCESS' as const], envid: 'batch=7', ret: 'HDRS' as const };
      await lastValueFrom(session.send({ from, to: 'b@example.test', body: 'Subject: dsn\r\n\r\nhi\r\n', dsn }));
      expect(written.filter((line) => /^(MAIL|RCPT)/.test(line))).to.deep.equal([
        `MAIL FROM:<${from}> SIZE=20 BODY=8BITMIME RET=HDRS ENVID=batch+3D7`,
        'RCPT TO:<b@example.test> NOTIFY=SUCCESS',
      ]);
      const [report] = await exim.store.find((m) => m.json.mail_from === '' && m.json.rcpt_tos.includes(from), 1);
      const text = report!.eml.toString();
      expect(text).to.match(/report-type=delivery-status/);
      expect(text).to.match(/^Original-Envelope-Id: batch\+3D7$/im); // as sent, xtext
      expect(text).to.match(/^Action: delivered$/im);
      expect(text).to.match(/^Final-Recipient: rfc822;\s*b@example\.test$/im);
    });

    it('SIZE: EMSGSIZE before MAIL for a message declared over its 20 MiB', async () => {
      const { session, written } = await connectTo(f, exim);
      const start = written.length;
      const body = Readable.from([]); // a stream: its length is not known, the declared size is what counts
      const error = await errorOf(session.send({ from: 'a@example.test', to: 'b@example.test', body, size: 21 * 1024 * 1024 }));
      expect(error.code).to.equal('EMSGSIZE');
      expect(written.slice(start)).to.deep.equal([]);
    });
  });

  describe('command line', () => {
    itSendsOneMailWithTheCli(exim, { starttls: true, auth: true });
  });
});
