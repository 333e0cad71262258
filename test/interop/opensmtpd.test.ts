import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import type { Mail } from '../../lib/mail/mail';
import { OPENSMTPD } from '../fixtures/shared-servers';
import { errorOf, outcomesOf } from '../send/helpers';
import { sessionFixture } from '../session/session-fixture';
import { itPoolsExactlyOnce, itReportsEachRecipient, itSendsAllExactlyOnce, itStoresBodiesExactly } from './behaviours';
import { itSendsOneMailWithTheCli } from './cli';
import { itFindsNoAuth, itRefusesBeforeMail } from './extensions';
import { failuresOf, fateOf } from './fates';
import { connectTo, interopTarget, stepsOf } from './target';

// OpenSMTPD 6.8 as shared/servers/opensmtpd-up.sh runs it: 8BITMIME, ENHANCEDSTATUSCODES, SIZE,
// DSN (reports stored as mail from <>); no PIPELINING (a client that pipelines is cut off with
// 500), STARTTLS, AUTH, CHUNKING or SMTPUTF8. One copy stored per recipient; it adds Date: and
// Message-ID: to a message that lacks them.

/** The two fields OpenSMTPD adds when absent: with them first, a body comes back byte for byte. */
const DATED = 'Date: Fri, 04 Dec 2026 12:00:00 +0000\r\nMessage-ID: <interop@example.test>\r\n';

describe('interop with OpenSMTPD 6.8', function () {
  this.timeout(60_000);
  const opensmtpd = interopTarget(OPENSMTPD, { copyPerRecipient: true, header: DATED });
  const f = sessionFixture();

  describe('connect', () => {
    it('greets and says EHLO; no STARTTLS is offered, so the session stays in plain text', async () => {
      const { session, states, transcript } = await connectTo(f, opensmtpd, { tls: 'starttls' });
      expect(stepsOf(states)).to.deep.equal(['connecting', 'greeting', 'ehlo', 'connected']);
      expect(transcript.slice(0, 2)).to.deep.equal(['S: 220 localhost ESMTP OpenSMTPD', 'C: EHLO client.test']);
      expect(Object.fromEntries(session.capabilities!)).to.deep.equal({ '8BITMIME': '', ENHANCEDSTATUSCODES: '', SIZE: '36700160', DSN: '', HELP: '' });
    });

    it("tls: 'starttls-required' is ENOTSUP right after EHLO: nothing but QUIT follows", async () => {
      const session = f.session({ tls: 'starttls-required' });
      const written: string[] = [];
      session.transcript$.subscribe((t) => t.direction === 'client' && written.push(t.line));
      const error = await errorOf(session.connect({ host: '127.0.0.1', port: opensmtpd.handle.server.port }));
      expect(error.code).to.equal('ENOTSUP');
      expect(written).to.deep.equal(['EHLO client.test', 'QUIT']);
    });

    itFindsNoAuth(f, opensmtpd, '(only under TLS, which it cannot do)', { allowInsecureAuth: true });
  });

  describe('bodies through DATA, with Date: and Message-ID: given', () => {
    itStoresBodiesExactly(f, opensmtpd, {
      transfer: 'DATA',
      empty: /^Date: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(UTC\)\r\nMessage-ID: <[0-9a-f]+@localhost>\r\n$/,
    });
  });

  describe('no PIPELINING: the client never writes before the reply it waits for', () => {
    it('a sendAll of 5 mails (one with a refused recipient) goes in lock-step, and every mail is delivered', async () => {
      const { session, transcript } = await connectTo(f, opensmtpd);
      const from = opensmtpd.store.sender('lock-step');
      const mails: Mail[] = [1, 2, 3, 4, 5].map((i) => ({ from, to: ['b@example.test', 'reject@example.test'], body: `${DATED}Subject: ${i}\r\n\r\nhi\r\n` }));
      const start = transcript.length;
      const fates = (await outcomesOf(session.sendAll(mails))).map(fateOf);
      expect(failuresOf(fates)).to.deep.equal({});
      const sides = transcript.slice(start).map((line) => line.slice(0, 2));
      expect(sides.join('')).to.equal('C:S:'.repeat(sides.length / 2));
      expect(session.state.status).to.equal('connected');
      expect((await opensmtpd.store.from(from, 5)).map((s) => s.eml.toString()).sort()).to.deep.equal(mails.map((m) => m.body));
    });

    itSendsAllExactlyOnce(f, opensmtpd, 500);
    itPoolsExactlyOnce(opensmtpd, 300);
  });

  describe('recipients', () => {
    itReportsEachRecipient(f, opensmtpd, 450);
  });

  describe('extensions', () => {
    it('DSN: NOTIFY=SUCCESS makes OpenSMTPD store a delivery report to the sender, from <>', async () => {
      const { session, written } = await connectTo(f, opensmtpd);
      const from = opensmtpd.store.sender('dsn');
      await lastValueFrom(session.send({ from, to: 'b@example.test', body: `${DATED}Subject: dsn\r\n\r\nhi\r\n`, dsn: { notify: ['SUCCESS'] } }));
      expect(written.filter((line) => line.startsWith('RCPT'))).to.deep.equal(['RCPT TO:<b@example.test> NOTIFY=SUCCESS']);
      const [report] = await opensmtpd.store.find((m) => m.json.mail_from === '' && m.json.rcpt_tos.includes(from), 1);
      const text = report!.eml.toString();
      expect(text).to.match(/^Content-Type: message\/delivery-status$/im);
      expect(text).to.match(/^Action: delivered$/im);
      expect(text).to.match(/^Final-Recipient: rfc822;\s*b@example\.test$/im);
    });

    itRefusesBeforeMail(f, opensmtpd, 'SMTPUTF8');
  });

  describe('command line', () => {
    itSendsOneMailWithTheCli(opensmtpd, { starttls: false, auth: false });
  });
});
