import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import { SmtpError } from '../../lib/errors';
import { DOVECOT_LMTP } from '../fixtures/shared-servers';
import { errorOf, outcomesOf } from '../send/helpers';
import { sessionFixture } from '../session/session-fixture';
import { itSendsOneMailWithTheCli } from './cli';
import { itPoolsExactlyOnce, itReportsEachRecipient, itSendsAllExactlyOnce, itStoresBodiesExactly } from './behaviours';
import { itFindsNoAuth, itRefusesBeforeMail } from './extensions';
import { fateOf } from './fates';
import { type Connected, connectTo, interopTarget, isEndOfData, stepsOf } from './target';

// Dovecot 2.3 LMTP as shared/servers/dovecot-lmtp-up.sh runs it: LHLO only; PIPELINING, CHUNKING,
// 8BITMIME, ENHANCEDSTATUSCODES, STARTTLS; no AUTH, SIZE, SMTPUTF8 or DSN. After the end of data
// it answers once per accepted recipient, in RCPT order, and stores one copy per recipient;
// full@ has a 1 KB quota: 552 after the data for anything bigger.

/** More than full@'s 1 KB quota. */
const OVER_QUOTA = `Subject: big\r\n\r\n${'q'.repeat(2_000)}\r\n`;

/** The server's replies after the client's last end of data (`.` or `BDAT n LAST`), up to the next client line. */
function repliesAfterEndOfData({ transcript }: Connected): string[] {
  let end = transcript.length - 1;
  while (end >= 0 && !(transcript[end]!.startsWith('C: ') && isEndOfData(transcript[end]!.slice(3)))) end--;
  const after = transcript.slice(end + 1);
  const next = after.findIndex((line) => line.startsWith('C: '));
  return next === -1 ? after : after.slice(0, next);
}

describe('interop with Dovecot 2.3 LMTP', function () {
  this.timeout(60_000);
  const dovecot = interopTarget(DOVECOT_LMTP, { options: { lmtp: true }, copyPerRecipient: true });
  const f = sessionFixture();

  describe('connect', () => {
    it('greets, says LHLO, upgrades with STARTTLS trusting its cert.pem, and reads its extensions again', async () => {
      const { session, states, transcript } = await connectTo(f, dovecot, { starttls: true });
      expect(stepsOf(states)).to.deep.equal(['connecting', 'greeting', 'ehlo', 'starttls', 'ehlo+tls', 'connected+tls']);
      expect(transcript.slice(0, 2)).to.deep.equal(['S: 220 localhost Dovecot (Debian) ready.', 'C: LHLO client.test']);
      expect(transcript.filter((line) => line.startsWith('C: ')).map((line) => line.split(' ')[1])).to.deep.equal(['LHLO', 'STARTTLS', 'LHLO']);
      expect(states.at(-1)!.tls).to.include({ authorized: true });
      expect([...session.capabilities!.keys()]).to.have.members(['8BITMIME', 'CHUNKING', 'ENHANCEDSTATUSCODES', 'PIPELINING']);
    });

    it('without lmtp: true, its 500 to EHLO and to HELO ends the connect with ESERVERPERM', async () => {
      const error = await connectTo(f, dovecot, { lmtp: false }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(SmtpError).with.property('code', 'ESERVERPERM');
      expect((error as SmtpError).reply?.code).to.equal(500);
    });

    itFindsNoAuth(f, dovecot, 'at all (LMTP has none)', { starttls: true });
  });

  describe('bodies through BDAT (CHUNKING under LMTP)', () => {
    itStoresBodiesExactly(f, dovecot, { transfer: 'BDAT', empty: '' });
  });

  describe('bodies through DATA (chunking: false)', () => {
    itStoresBodiesExactly(f, dovecot, { transfer: 'DATA', empty: '', connect: { chunking: false } });
  });

  describe('one reply per accepted recipient after the end of data', () => {
    for (const chunking of [true, false]) {
      const transfer = chunking ? 'BDAT' : 'DATA';
      it(`${transfer}: one 250 per accepted recipient, in RCPT order, none for the one refused at RCPT; a copy each`, async () => {
        const connected = await connectTo(f, dovecot, { chunking });
        const from = dovecot.store.sender('per-recipient');
        const to = ['b@example.test', 'reject@example.test', 'c@example.test', 'd@example.test'];
        const result = await lastValueFrom(connected.session.send({ from, to, body: 'Subject: lmtp\r\n\r\nhi\r\n' }));
        expect(repliesAfterEndOfData(connected).map((line) => line.replace(/ \S+ Saved$/, ''))).to.deep.equal([
          'S: 250 2.0.0 <b@example.test>',
          'S: 250 2.0.0 <c@example.test>',
          'S: 250 2.0.0 <d@example.test>',
        ]);
        expect(result.accepted).to.deep.equal(['b@example.test', 'c@example.test', 'd@example.test']);
        expect(result.rejected.map((r) => [r.recipient, r.reply.code])).to.deep.equal([['reject@example.test', 550]]);
        const stored = await dovecot.store.from(from, 3);
        expect(stored.map((s) => s.json.rcpt_tos[0]).sort()).to.deep.equal(['b@example.test', 'c@example.test', 'd@example.test']);
      });

      it(`${transfer}: full@ is refused with 552 after the data while the others are accepted`, async () => {
        const connected = await connectTo(f, dovecot, { chunking });
        const from = dovecot.store.sender('over-quota');
        const to = ['b@example.test', 'full@example.test', 'c@example.test'];
        const result = await lastValueFrom(connected.session.send({ from, to, body: OVER_QUOTA }));
        expect(repliesAfterEndOfData(connected).map((line) => line.slice(0, 13))).to.deep.equal(['S: 250 2.0.0 ', 'S: 552 5.2.2 ', 'S: 250 2.0.0 ']);
        expect(result.accepted).to.deep.equal(['b@example.test', 'c@example.test']);
        expect(result.rejected.map((r) => [r.recipient, r.reply.code])).to.deep.equal([['full@example.test', 552]]);
        const stored = await dovecot.store.from(from, 2);
        expect(stored.map((s) => s.json.rcpt_tos[0]).sort()).to.deep.equal(['b@example.test', 'c@example.test']);
      });
    }

    it('a pipelined sendAll of 5 mails to b@, full@ and c@: each reply lands on its recipient of its mail', async () => {
      const { session } = await connectTo(f, dovecot);
      const from = dovecot.store.sender('pipelined-lmtp');
      const mails = [1, 2, 3, 4, 5].map((i) => ({ from, to: ['b@example.test', 'full@example.test', 'c@example.test'], body: `${OVER_QUOTA}${i}\r\n` }));
      const fates = (await outcomesOf(session.sendAll(mails))).map(fateOf);
      expect(fates.map((fate) => fate.ok && [fate.mail.body, fate.result.accepted, fate.result.rejected.map((r) => [r.recipient, r.reply.code])])).to.deep.equal(
        mails.map((mail) => [mail.body, ['b@example.test', 'c@example.test'], [['full@example.test', 552]]]),
      );
      const stored = await dovecot.store.from(from, 10);
      expect(stored.map((s) => `${s.json.rcpt_tos[0]} ${s.eml.toString().slice(-3, -2)}`).sort()).to.deep.equal(
        [1, 2, 3, 4, 5].flatMap((i) => [`b@example.test ${i}`, `c@example.test ${i}`]).sort(),
      );
    });

    it('full@ alone over quota: the mail fails with ESERVERPERM 552, and the next mail is delivered', async () => {
      const { session } = await connectTo(f, dovecot);
      const from = dovecot.store.sender('only-full');
      const error = await errorOf(session.send({ from, to: 'full@example.test', body: OVER_QUOTA }));
      expect(error.code).to.equal('ESERVERPERM');
      expect(error.reply?.code).to.equal(552);
      await lastValueFrom(session.send({ from, to: 'b@example.test', body: 'Subject: next\r\n\r\nhi\r\n' }));
      expect((await dovecot.store.from(from, 1)).map((s) => s.json.rcpt_tos)).to.deep.equal([['b@example.test']]);
    });
  });

  describe('sendAll and pool', () => {
    itSendsAllExactlyOnce(f, dovecot, 500);
    itPoolsExactlyOnce(dovecot, 300);
  });

  describe('recipients', () => {
    itReportsEachRecipient(f, dovecot, 451);
  });

  describe('extensions it does not offer', () => {
    itRefusesBeforeMail(f, dovecot, 'SMTPUTF8');
    itRefusesBeforeMail(f, dovecot, 'DSN');
  });

  describe('command line', () => {
    itSendsOneMailWithTheCli(dovecot, { starttls: true, auth: false, lmtp: true });
  });
});
