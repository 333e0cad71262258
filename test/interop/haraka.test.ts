import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import type { Mail } from '../../lib/mail/mail';
import { HARAKA, HARAKA_3_3_3 } from '../fixtures/shared-servers';
import { USER } from '../fixtures/smtp-server';
import { outcomesOf } from '../send/helpers';
import { type SessionFixture, sessionFixture } from '../session/session-fixture';
import { itPoolsExactlyOnce, itReportsEachRecipient, itSendsAllExactlyOnce, itStoresBodiesExactly } from './behaviours';
import { itSendsOneMailWithTheCli } from './cli';
import { itAuthenticatesWithEach, itRefusesBeforeMail, itSendsSmtpUtf8 } from './extensions';
import { type Fate, failuresOf, fateOf } from './fates';
import { type InteropTarget, connectTo, interopTarget, stepsOf } from './target';

// Haraka as shared/servers/haraka-up.sh runs it: PIPELINING, 8BITMIME, SMTPUTF8, SIZE, STARTTLS,
// AUTH PLAIN LOGIN CRAM-MD5 before and after STARTTLS; no CHUNKING or DSN. 3.3.4 answers every
// command pipelined behind the end of DATA with 503 (a defence against smuggling); 3.3.3 takes them.

/** The greeting, the extensions, and STARTTLS trusting its cert.pem. */
function itConnects(f: SessionFixture, haraka: InteropTarget, version: string): void {
  it(`greets as Haraka/${version}, upgrades with STARTTLS trusting its cert.pem, and reads its extensions again`, async () => {
    const { session, states, transcript } = await connectTo(f, haraka, { starttls: true });
    expect(stepsOf(states)).to.deep.equal(['connecting', 'greeting', 'ehlo', 'starttls', 'ehlo+tls', 'connected+tls']);
    expect(transcript[0]).to.match(new RegExp(`^S: 220 localhost ESMTP Haraka/${version.replace(/\./g, '\\.')} ready`));
    expect(states.at(-1)!.tls).to.include({ authorized: true });
    expect(Object.fromEntries(session.capabilities!)).to.deep.equal({
      PIPELINING: '',
      '8BITMIME': '',
      SMTPUTF8: '',
      SIZE: '20971520',
      AUTH: 'PLAIN LOGIN CRAM-MD5',
    });
  });
}

/** Three mails in one sendAll, each with a body of its own. */
function threeMails(from: string): Mail[] {
  return [1, 2, 3].map((i) => ({ from, to: 'b@example.test', body: `Subject: ${i}\r\n\r\nmail ${i}\r\n` }));
}

/** Every mail delivered, and stored once with its own body. */
async function expectAllStored(haraka: InteropTarget, mails: readonly Mail[], fates: readonly Fate[]): Promise<void> {
  expect(failuresOf(fates)).to.deep.equal({});
  const stored = await haraka.store.from(mails[0]!.from, mails.length);
  expect(stored.map((s) => s.eml.toString()).sort()).to.deep.equal(mails.map((m) => m.body));
}

describe('interop with Haraka 3.3.4', function () {
  this.timeout(60_000);
  const haraka = interopTarget(HARAKA);
  const f = sessionFixture();

  describe('connect', () => {
    itConnects(f, haraka, '3.3.4');
  });

  describe('AUTH before STARTTLS (Haraka counts 127.0.0.1 as private)', () => {
    itAuthenticatesWithEach(f, haraka, ['PLAIN', 'LOGIN', 'CRAM-MD5'], { starttls: false, recorded: () => ({ sasl_username: USER, tls: false }) });
  });

  describe('AUTH after STARTTLS', () => {
    itAuthenticatesWithEach(f, haraka, ['PLAIN', 'LOGIN', 'CRAM-MD5'], { starttls: true, recorded: () => ({ sasl_username: USER, tls: true }) });
  });

  describe('bodies through DATA, no AUTH', () => {
    itStoresBodiesExactly(f, haraka, { transfer: 'DATA', empty: '' });
  });

  describe('bodies through DATA after AUTH (its Authentication-Results header taken off)', () => {
    // Haraka rewrites the header section when it adds its header: an empty message comes back as CRLF.
    itStoresBodiesExactly(f, haraka, { transfer: 'DATA', empty: '\r\n', connect: { starttls: true, auth: true } });
  });

  describe('pipelining, sendAll and pool', () => {
    it('pipelines MAIL, RCPT and DATA: all three leave before the reply to MAIL', async () => {
      const { session, transcript } = await connectTo(f, haraka);
      const from = haraka.store.sender('pipelined');
      const start = transcript.length;
      await lastValueFrom(session.send({ from, to: 'b@example.test', body: 'Subject: one turn\r\n\r\nhi\r\n' }));
      expect(transcript.slice(start, start + 4).map((line) => line.slice(0, 7))).to.deep.equal(['C: MAIL', 'C: RCPT', 'C: DATA', 'S: 250 ']);
      await haraka.store.from(from, 1);
    });

    // Issue 10, defect 2: 3.3.4 answers 503 to the commands pipelined behind the end of DATA.
    it('a sendAll of three mails: each delivered, though commands pipelined after DATA get 503', async () => {
      const { session } = await connectTo(f, haraka);
      const mails = threeMails(haraka.store.sender('three'));
      await expectAllStored(haraka, mails, (await outcomesOf(session.sendAll(mails))).map(fateOf));
    });
    itSendsAllExactlyOnce(f, haraka, 500);
    itPoolsExactlyOnce(haraka, 300);
  });

  describe('recipients', () => {
    itReportsEachRecipient(f, haraka, 450);
  });

  describe('extensions', () => {
    itSendsSmtpUtf8(f, haraka);
    itRefusesBeforeMail(f, haraka, 'DSN');
  });

  describe('command line', () => {
    itSendsOneMailWithTheCli(haraka, { starttls: true, auth: true });
  });
});

describe('interop with Haraka 3.3.3 (takes commands pipelined after DATA)', function () {
  this.timeout(60_000);
  const haraka = interopTarget(HARAKA_3_3_3);
  const f = sessionFixture();

  itConnects(f, haraka, '3.3.3');

  it('a sendAll of three mails: the next MAIL leaves right behind the end of DATA, and each is delivered', async () => {
    const { session, transcript } = await connectTo(f, haraka);
    const mails = threeMails(haraka.store.sender('three'));
    const start = transcript.length;
    const fates = (await outcomesOf(session.sendAll(mails))).map(fateOf);
    expect(transcript.slice(transcript.indexOf('C: .', start) + 1)[0]).to.match(new RegExp(`^C: MAIL FROM:<${mails[0]!.from}> `));
    await expectAllStored(haraka, mails, fates);
  });
  itSendsAllExactlyOnce(f, haraka, 500);
  itPoolsExactlyOnce(haraka, 300);
});
