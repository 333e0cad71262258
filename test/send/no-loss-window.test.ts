import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import { SmtpError } from '../../lib/errors';
import type { Mail } from '../../lib/mail/mail';
import { DEFAULT_WINDOW_MAILS } from '../../lib/send/window';
import type { SmtpSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';
import { type ScriptedServer, type Step, hello, scriptedServer } from '../fixtures/scripted-server';
import { connectTo, numbered, outcomesUntilError } from './helpers';

/** Fewer than the window: every mail is written whole in the first write, so what went out is known. */
const MAILS = 6;
/** This mail's only recipient is refused: its BDAT LAST is answered 554, the next mail's RSET 250. */
const REFUSED = 1;

const MAIL = /^MAIL FROM:/;
const RCPT = /^RCPT TO:/;
const BDAT_LAST = /^BDAT \d+ LAST$/;

const mails: Mail[] = Array.from({ length: MAILS * 3 }, (_, i) => numbered(i, { to: i === REFUSED ? 'nobody@example.test' : `rcpt${i}@example.test` }));
const index = (mail: Mail): number => mails.indexOf(mail);
const bytesOf = (i: number): number => Buffer.byteLength(mails[i]!.body as string);

/** Mail i as the server sees it when nothing goes wrong: an RSET ahead of every mail but the first. */
function whole(i: number): Step[] {
  return [
    ...(i > 0 ? [{ expect: 'RSET', send: '250 2.0.0 Ok\r\n' }] : []),
    { expect: MAIL, send: '250 2.1.0 Ok\r\n' },
    { expect: RCPT, send: i === REFUSED ? '550 5.1.1 No such user\r\n' : '250 2.1.5 Ok\r\n' },
    { expect: BDAT_LAST },
    { expectBytes: bytesOf(i), send: i === REFUSED ? '554 5.5.1 Error: no valid recipients\r\n' : `250 2.0.0 Ok: queued as M${i}\r\n` },
  ];
}

/** Where the connection ends in mail k's transaction, and whether its content reached the server. */
const POINTS = {
  'before its first command is answered': { steps: (k: number): Step[] => [{ expect: k > 0 ? 'RSET' : MAIL }], received: false },
  'after its BDAT LAST and content, unanswered': { steps: (k: number): Step[] => [...whole(k).slice(0, -1), { expectBytes: bytesOf(k) }], received: true },
  'in the middle of its final reply': {
    steps: (k: number): Step[] => [...whole(k).slice(0, -1), { expectBytes: bytesOf(k), send: '250 2.0.0 Ok: que' }],
    received: true,
  },
} satisfies Record<string, { steps: (k: number) => Step[]; received: boolean }>;
type Point = keyof typeof POINTS;

describe('send/no-loss with a window of BDAT mails in flight (CHUNKING + PIPELINING)', () => {
  let server: ScriptedServer | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    session?.dispose();
    await server?.close();
    server = session = undefined;
  });
  checkLeaks();

  /** Runs `count` mails against the script; checks that each one is in exactly one list, and returns the lists. */
  async function run(script: Step[], count: number) {
    server = await scriptedServer([...hello(['PIPELINING', 'CHUNKING']), ...script]);
    session = await connectTo(server.port);
    const batch = mails.slice(0, count);
    const { outcomes, error } = await outcomesUntilError(session.sendAll(batch));
    expect(error).to.be.instanceOf(SmtpError);
    expect(session.state.status).to.equal('closed');
    expect(server.failures).to.deep.equal([]);
    const delivered = [...error.delivered];
    const failed = outcomes.flatMap((o) => (o.ok ? [] : [index(o.mail)]));
    const uncertain = error.uncertain.map((r) => r.index);
    const notSent = error.notSent.map((r) => r.index);
    expect([...delivered, ...failed, ...uncertain, ...notSent].sort((a, b) => a - b)).to.deep.equal(batch.map((_, i) => i));
    // Outcomes came in order, and the delivered ones are those the server stored and acknowledged.
    expect(outcomes.map((o) => index(o.mail))).to.deep.equal([...delivered, ...failed].sort((a, b) => a - b));
    expect(outcomes.flatMap((o) => (o.ok ? [o.result.queueId] : []))).to.deep.equal(delivered.map((i) => `M${i}`));
    return { outcomes, error, delivered, failed, uncertain, notSent, received: server.data.map(String) };
  }

  for (const point of Object.keys(POINTS) as Point[]) {
    describe(`the server closes ${point}`, () => {
      for (let k = 0; k < MAILS; k++) {
        it(`of mail ${k}: the mails before it settled, it and every one behind it uncertain`, async () => {
          const script = [...Array.from({ length: k }, (_, i) => whole(i)).flat(), ...POINTS[point].steps(k), { close: true as const }];
          const { error, delivered, failed, uncertain, notSent, received } = await run(script, MAILS);
          expect(error.code).to.equal('ESHUTDOWN');
          expect(delivered).to.deep.equal(Array.from({ length: k }, (_, i) => i).filter((i) => i !== REFUSED));
          expect(failed).to.deep.equal(k > REFUSED ? [REFUSED] : []);
          // All MAILS were written whole in one write, before any reply: each BDAT LAST went out unanswered.
          expect(uncertain).to.deep.equal(Array.from({ length: MAILS - k }, (_, i) => k + i));
          expect(notSent).to.deep.equal([]);
          const stored = Array.from({ length: POINTS[point].received ? k + 1 : k }, (_, i) => mails[i]!.body);
          expect(received).to.deep.equal(stored);
        });
      }
    });
  }

  it('a 421 to a BDAT LAST in the window: that mail failed, not uncertain; those behind it uncertain', async () => {
    const script = [
      ...whole(0),
      ...whole(1),
      ...whole(2).slice(0, -1),
      { expectBytes: bytesOf(2), send: '421 4.3.2 Shutting down\r\n' },
      { close: true as const },
    ];
    const { error, delivered, failed, uncertain, notSent } = await run(script, MAILS);
    expect(error.code).to.equal('ESERVERTEMP');
    expect(delivered).to.deep.equal([0]);
    expect(failed).to.deep.equal([REFUSED, 2]);
    expect(uncertain).to.deep.equal([3, 4, 5]);
    expect(notSent).to.deep.equal([]);
  });

  it('a 421 to a MAIL in the window: that mail failed, those behind it uncertain', async () => {
    const script = [...whole(0), { expect: 'RSET', send: '250 2.0.0 Ok\r\n' }, { expect: MAIL, send: '421 4.3.2 Shutting down\r\n' }, { close: true as const }];
    const { error, delivered, failed, uncertain } = await run(script, 3);
    expect(error.code).to.equal('ESERVERTEMP');
    expect(delivered).to.deep.equal([0]);
    expect(failed).to.deep.equal([1]);
    expect(uncertain).to.deep.equal([2]);
  });

  // Issue 10, defect 14: a 421 to an RCPT of a mail written whole was described as a reply "to end of data".
  it('a 421 to an RCPT in the window: that mail failed, its error a refusal of RCPT TO; those behind it uncertain', async () => {
    const script = [
      ...whole(0),
      { expect: 'RSET', send: '250 2.0.0 Ok\r\n' },
      { expect: MAIL, send: '250 2.1.0 Ok\r\n' },
      { expect: RCPT, send: '421 4.3.2 Shutting down\r\n' },
      { close: true as const },
    ];
    const { outcomes, error, delivered, failed, uncertain } = await run(script, 3);
    expect(delivered).to.deep.equal([0]);
    expect(failed).to.deep.equal([1]);
    expect(uncertain).to.deep.equal([2]);
    const refusal = outcomes.find((o) => !o.ok);
    for (const described of [refusal?.ok === false ? refusal.error : undefined, error]) {
      expect(described?.code).to.equal('ESERVERTEMP');
      expect(described?.command).to.equal('RCPT TO');
      expect(described?.message).to.contain('to RCPT TO: 421 4.3.2 Shutting down').and.not.contain('end of data');
    }
  });

  it('an RSET refused between mails: ESERVERSYNC, the mail behind it uncertain', async () => {
    const script = [...whole(0), { expect: 'RSET', send: '500 5.5.1 what\r\n' }, { close: true as const }];
    const { error, delivered, uncertain } = await run(script, 3);
    expect(error.code).to.equal('ESERVERSYNC');
    expect(delivered).to.deep.equal([0]);
    expect(uncertain).to.deep.equal([1, 2]);
  });

  it(`more mails than the window (${MAILS * 3} > ${DEFAULT_WINDOW_MAILS}), closed after mail 9's content: each mail once, at most a window uncertain`, async () => {
    const k = 9;
    const script = [...Array.from({ length: k }, (_, i) => whole(i)).flat(), ...POINTS['after its BDAT LAST and content, unanswered'].steps(k), { close: true as const }];
    const { delivered, failed, uncertain, notSent, received } = await run(script, MAILS * 3);
    expect(delivered).to.deep.equal(Array.from({ length: k }, (_, i) => i).filter((i) => i !== REFUSED));
    expect(failed).to.deep.equal([REFUSED]);
    // Those written whole before the close was seen: from mail 9 on, contiguous, never more than the window.
    expect(uncertain[0]).to.equal(k);
    expect(uncertain).to.deep.equal(Array.from({ length: uncertain.length }, (_, i) => k + i));
    expect(uncertain.length).to.be.at.most(DEFAULT_WINDOW_MAILS);
    expect(notSent).to.deep.equal(Array.from({ length: MAILS * 3 - k - uncertain.length }, (_, i) => k + uncertain.length + i));
    expect(received).to.deep.equal(Array.from({ length: k + 1 }, (_, i) => mails[i]!.body));
  });

  it('the last mail in flight refused: RSET after it, then the session is still usable', async () => {
    server = await scriptedServer([
      ...hello(['PIPELINING', 'CHUNKING']),
      ...whole(0),
      ...whole(1),
      { expect: 'RSET', send: '250 2.0.0 Ok\r\n' },
      { expect: 'NOOP', send: '250 2.0.0 Ok\r\n' },
    ]);
    session = await connectTo(server.port);
    const outcomes = await lastValueFrom(session.sendAll(mails.slice(0, 2)).pipe(toArray()));
    expect(outcomes.map((o) => (o.ok ? o.result.queueId : o.error.code))).to.deep.equal(['M0', 'ESERVERPERM']);
    await lastValueFrom(session.noop());
    expect(server.lines.slice(-2)).to.deep.equal(['RSET', 'NOOP']);
    expect(server.failures).to.deep.equal([]);
  });

  it('with no session failure: every mail delivered in order but the refused one, the session still usable', async () => {
    server = await scriptedServer([
      ...hello(['PIPELINING', 'CHUNKING']),
      ...Array.from({ length: MAILS * 2 }, (_, i) => whole(i)).flat(),
      { expect: 'NOOP', send: '250 2.0.0 Ok\r\n' },
    ]);
    session = await connectTo(server.port);
    const outcomes = await lastValueFrom(session.sendAll(mails.slice(0, MAILS * 2)).pipe(toArray()));
    expect(outcomes.map((o) => (o.ok ? o.result.queueId : o.error.code))).to.deep.equal(
      Array.from({ length: MAILS * 2 }, (_, i) => (i === REFUSED ? 'ESERVERPERM' : `M${i}`)),
    );
    await lastValueFrom(session.noop());
    expect(server.failures).to.deep.equal([]);
  });
});
