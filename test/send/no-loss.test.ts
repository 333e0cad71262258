import { expect } from 'chai';
import * as sinon from 'sinon';
import { PassThrough } from 'node:stream';
import { concat, from, of, throwError } from 'rxjs';
import type { Mail } from '../../lib/mail/mail';
import type { SmtpSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';
import { type ScriptedServer, type Step, hello, scriptedServer, unstuff } from '../fixtures/scripted-server';
import { connectTo, numbered, outcomesUntilError } from './helpers';

const MAILS = 10;
/** This mail's only recipient is refused: a per-mail failure among the deliveries. */
const REFUSED = 2;

const MAIL = /^MAIL FROM:/;
const RCPT = /^RCPT TO:/;

/** Where the server drops the connection, in the transaction of one mail. */
const POINTS = {
  'before MAIL': [{ expect: MAIL }],
  'after MAIL': [{ expect: MAIL, send: '250 2.1.0 Ok\r\n' }],
  'after DATA': [
    { expect: MAIL, send: '250 2.1.0 Ok\r\n' },
    { expect: RCPT, send: '250 2.1.5 Ok\r\n' },
    { expect: 'DATA', send: '354 go ahead\r\n' },
  ],
  'after end of data': [
    { expect: MAIL, send: '250 2.1.0 Ok\r\n' },
    { expect: RCPT, send: '250 2.1.5 Ok\r\n' },
    { expect: 'DATA', send: '354 go ahead\r\n' },
    { expectData: true },
  ],
  'in the middle of its reply to end of data': [
    { expect: MAIL, send: '250 2.1.0 Ok\r\n' },
    { expect: RCPT, send: '250 2.1.5 Ok\r\n' },
    { expect: 'DATA', send: '354 go ahead\r\n' },
    { expectData: true, send: '250 2.0.0 Ok: que' },
  ],
} satisfies Record<string, Step[]>;
type Point = keyof typeof POINTS;

/** Whether the end of data of the mail at the point may have reached the server. */
const EOD_SENT: Record<Point, 'no' | 'maybe' | 'yes'> = {
  'before MAIL': 'no',
  'after MAIL': 'no',
  // The client may write its end of data before it sees the close that follows the 354.
  'after DATA': 'maybe',
  'after end of data': 'yes',
  'in the middle of its reply to end of data': 'yes',
};

/** Mails 0..k-1 handled normally (REFUSED refused), then the connection ends at `point` of mail k. */
function transcript(k: number, point: Point, ending: Step): Step[] {
  const steps: Step[] = [...hello(['PIPELINING'])];
  for (let i = 0; i < k; i++) {
    steps.push({ expect: MAIL, send: '250 2.1.0 Ok\r\n' });
    if (i === REFUSED) {
      steps.push(
        { expect: RCPT, send: '550 5.1.1 No such user\r\n' },
        { expect: 'DATA', send: '554 5.5.1 No valid recipients\r\n' },
        { expect: 'RSET', send: '250 2.0.0 Ok\r\n' },
      );
    } else {
      steps.push(
        { expect: RCPT, send: '250 2.1.5 Ok\r\n' },
        { expect: 'DATA', send: '354 go ahead\r\n' },
        { expectData: true, send: `250 2.0.0 Ok: queued as M${i}\r\n` },
      );
    }
  }
  return [...steps, ...POINTS[point], ending];
}

describe('send/no-loss', () => {
  let server: ScriptedServer | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    session?.dispose();
    await server?.close();
    server = session = undefined;
  });
  checkLeaks();

  const mails = Array.from({ length: MAILS }, (_, i) =>
    numbered(i, { to: i === REFUSED ? 'nobody@example.test' : `rcpt${i}@example.test` }),
  );
  const index = (mail: Mail): number => mails.indexOf(mail);

  async function closeAt(k: number, point: Point, ending: Step): Promise<void> {
    server = await scriptedServer(transcript(k, point, ending));
    session = await connectTo(server.port);
    const { outcomes, error } = await outcomesUntilError(session.sendAll(from(mails)));

    expect(error.code).to.equal('ESHUTDOWN');
    expect(session.state.status).to.equal('closed');
    expect(server.failures).to.deep.equal([]);

    const delivered = [...error.delivered];
    const failed = outcomes.flatMap((o) => (o.ok ? [] : [index(o.mail)]));
    const uncertain = error.uncertain.map((r) => r.index);
    const notSent = error.notSent.map((r) => r.index);
    // Every mail exactly once, in order within each list.
    expect([...delivered, ...failed, ...uncertain, ...notSent].sort((a, b) => a - b)).to.deep.equal(mails.map((_, i) => i));
    expect(delivered).to.deep.equal(Array.from({ length: k }, (_, i) => i).filter((i) => i !== REFUSED));
    expect(outcomes.flatMap((o) => (o.ok ? [o.index] : []))).to.deep.equal(delivered);
    expect(failed).to.deep.equal(k > REFUSED ? [REFUSED] : []);
    const sent = EOD_SENT[point];
    if (sent === 'yes') expect(uncertain).to.deep.equal([k]);
    if (sent === 'no') expect(uncertain).to.deep.equal([]);
    expect(notSent).to.deep.equal(mails.map((_, i) => i).filter((i) => i > k || (i === k && uncertain.length === 0)));

    // Delivered is what the server stored and acknowledged; an uncertain mail it may have stored too.
    const received = server.data.map((d) => unstuff(d).toString());
    const body = (i: number): string => mails[i]!.body as string;
    expect(received).to.deep.equal([...delivered, ...(sent === 'yes' ? [k] : [])].map(body));
  }

  for (const point of Object.keys(POINTS) as Point[]) {
    describe(`the server closes ${point}`, () => {
      for (let k = 0; k < MAILS; k++) {
        it(`of mail ${k}: every mail accounted for once`, () => closeAt(k, point, { close: true }));
      }
    });
  }

  // Issue 10, defect 11: fates were matched to mails by identity, so one of two positions holding
  // the same Mail object lost its entry when the session failed.
  describe('the same Mail object at several positions', () => {
    it('the server closing after the second one\'s end of data: position 0 delivered, 1 uncertain, 2 not sent', async () => {
      const mail = numbered(0);
      server = await scriptedServer(transcript(1, 'after end of data', { close: true }));
      session = await connectTo(server.port);
      const { outcomes, error } = await outcomesUntilError(session.sendAll([mail, mail, mail]));

      expect(outcomes.map((o) => [o.index, o.ok])).to.deep.equal([[0, true]]);
      expect(error.delivered).to.deep.equal([0]);
      expect(error.uncertain.map((r) => r.index)).to.deep.equal([1]);
      expect(error.notSent.map((r) => r.index)).to.deep.equal([2]);
      expect(server.failures).to.deep.equal([]);
    });
  });

  describe('a streamed body', () => {
    it('whose connection closed before its end failed (its body was read in part), never uncertain', async () => {
      server = await scriptedServer([...hello(['PIPELINING']), ...POINTS['after DATA'], { expect: 'first' }, { close: true }]);
      session = await connectTo(server.port);
      const body = new PassThrough();
      const mail: Mail = { from: 'a@example.test', to: 'b@example.test', body };
      const running = outcomesUntilError(session.sendAll([mail]));
      body.write('first\r\n');
      await server.clientClosed;
      body.end('second\r\n');
      const { outcomes, error } = await running;
      expect(error.code).to.equal('ESHUTDOWN');
      expect(error.uncertain).to.deep.equal([]);
      // Its body was read in part: it cannot be sent again, so it failed rather than "not sent".
      expect(error.notSent).to.deep.equal([]);
      expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.code))).to.deep.equal(['EIO']);
    });
  });

  describe('an input that errors', () => {
    it('settles the mail sent before the error: delivered, not uncertain', async () => {
      server = await scriptedServer([
        ...hello(['PIPELINING']),
        ...POINTS['after DATA'],
        { expectData: true, send: '250 2.0.0 Ok: queued as M0\r\n' },
      ]);
      session = await connectTo(server.port);
      const input = concat(of(mails[0]!), throwError(() => new Error('the mail source failed')));
      const { outcomes, error } = await outcomesUntilError(session.sendAll(input));
      expect(error.message).to.contain('the mail source failed');
      expect(error.delivered).to.deep.equal([0]);
      expect(outcomes.map((o) => (o.ok ? o.result.queueId : undefined))).to.deep.equal(['M0']);
      expect(error.uncertain).to.deep.equal([]);
      expect(outcomes.map((o) => o.ok)).to.deep.equal([true]);
    });
  });

  describe('a server that goes silent', () => {
    let clock: sinon.SinonFakeTimers | undefined;
    afterEach(() => {
      clock?.restore();
      clock = undefined;
    });

    it('after the end of data: ETIMEDOUT, that mail uncertain, the one pipelined behind it not sent', async () => {
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
      server = await scriptedServer([
        ...hello(['PIPELINING']),
        ...POINTS['after DATA'],
        { expect: 'Subject: 0' },
        { expect: '' },
        { expect: 'body 0' },
        { expect: '.' },
        { stall: true },
      ]);
      session = await connectTo(server.port, { timeout: 10_000 });
      const running = outcomesUntilError(session.sendAll(mails.slice(0, 2)));
      await server.received('.');
      await clock.tickAsync(10_000);
      const { outcomes, error } = await running;
      expect(error.code).to.equal('ETIMEDOUT');
      expect(outcomes).to.deep.equal([]);
      expect(error.uncertain.map((r) => r.mail)).to.deep.equal([mails[0]]);
      expect(error.notSent.map((r) => r.mail)).to.deep.equal([mails[1]]);
      expect(session.state).to.deep.include({ status: 'closed' });
      expect(session.state.error?.code).to.equal('ETIMEDOUT');
    });
  });

  describe('the server crashes (RST)', () => {
    it('before its reply to the end of data of mail 5: mail 5 is uncertain', () => closeAt(5, 'after end of data', { destroy: true }));

    it('after MAIL of mail 5: mail 5 is not sent', () => closeAt(5, 'after MAIL', { destroy: true }));
  });
});
