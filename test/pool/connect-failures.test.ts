import { expect } from 'chai';
import { type Observable, filter, firstValueFrom } from 'rxjs';
import * as sinon from 'sinon';
import { type PoolOutcome, type PoolState, type SmtpPool, createPool } from '../../lib/pool';
import type { BackoffPolicy } from '../../lib/pool/backoff';
import { MAX_ATTEMPTS } from '../../lib/pool/worker';
import { checkAccounting } from '../fixtures/accounting';
import { CallRecorder } from '../fixtures/call-recorder';
import { defaultServerStore } from '../fixtures/mail-store';
import { markedMail } from '../fixtures/marked-mail';
import { closedPort, turns } from '../fixtures/observe';
import { GREETING, type ScriptedServer, type Step, ehloReply, hello, scriptedServer } from '../fixtures/scripted-server';
import { defaultServer } from '../fixtures/default-server';

// Issue 10, defect 13: a pool that could not connect failed every waiting mail within milliseconds
// (2,239 of 3,000 during a 2.8 s Postfix restart). It now waits, longer each time, and fails mails
// only once its backoff policy is spent. And defect 10: a 421 in the same segment as the EHLO reply
// left the first mail without a fate and close() hanging. Time is virtual here: sockets are real.

const POLICY: BackoffPolicy = { initialDelay: 100, maxDelay: 400, attempts: 5 };
/** What Math.random gives the jitter, connect after connect: the lowest, the middle, the highest, a quarter. */
const RANDOM = [0, 0.5, 0.999_999, 0.25];
/** The delays those make: each cap (100, 200, 400, then 400: doubling, capped) times 0.5 + random / 2. */
const DELAYS = [50, 150, 400, 250];

describe('pool: connects that fail (virtual time)', () => {
  let clock: sinon.SinonFakeTimers;
  let random: sinon.SinonStub;
  let scripted: ScriptedServer | undefined;
  let pool: SmtpPool | undefined;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    // Read by the pool when it is made: only the backoff's jitter uses it.
    random = sinon.stub(Math, 'random');
    RANDOM.forEach((value, i) => random.onCall(i).returns(value));
    random.returns(0.5);
  });
  afterEach(async () => {
    pool?.close().subscribe();
    await clock.runAllAsync();
    random.restore();
    clock.restore();
    await scripted?.close();
    scripted = pool = undefined;
  });

  /** The state once `failures` connects in a row have failed (each refused connect is real I/O, no time passes). */
  const failedConnects = (state$: Observable<PoolState>, failures: number): Promise<PoolState> =>
    firstValueFrom(state$.pipe(filter((s) => (s.backoff?.failures ?? 0) >= failures)));

  /** Ticks `ms` of virtual time, letting loopback I/O run after it. */
  async function tick(ms: number): Promise<void> {
    await clock.tickAsync(ms);
    await turns(5);
  }

  it('refused: waits 50, 150, 400, 250 ms (doubling to maxDelay, jittered), fails no mail before the attempts are spent, then each transient', async () => {
    const port = await closedPort();
    // One slot: with more, the slots' first connects fail together and count as several in a row.
    pool = createPool({ server: { host: '127.0.0.1', port }, tls: 'none', maxConnections: 1, backoff: POLICY });
    const states: PoolState[] = [];
    pool.state$.subscribe((s) => states.push(s));
    const outcomes: PoolOutcome[] = [];
    const mails = Array.from({ length: 3 }, (_, i) => markedMail(`backoff-refused-${i}`));
    const done = new Promise<void>((resolve) => pool!.sendAll(mails).subscribe({ next: (o) => outcomes.push(o), complete: resolve }));

    const attempts = [(await failedConnects(pool.state$, 1), clock.now)];
    for (const [i, delay] of DELAYS.entries()) {
      await tick(delay - 1);
      expect(states.at(-1)!.backoff, `no connect before ${delay} ms`).to.deep.equal({ failures: i + 1, down: false });
      expect(outcomes, 'no mail fails while the policy holds').to.deep.equal([]);
      await tick(1);
      await failedConnects(pool.state$, i + 2);
      attempts.push(clock.now);
    }
    await done;

    expect(attempts).to.deep.equal([0, 50, 200, 600, 850]);
    expect(outcomes.map((o) => (o.ok ? 'ok' : `${o.error.code} ${o.failure}`))).to.deep.equal(Array(3).fill('ECONNREFUSED transient'));
    expect(states.at(-1)!.backoff).to.deep.equal({ failures: POLICY.attempts, down: true });
    expect(states.filter((s) => s.failed > 0).every((s) => s.backoff?.down === true)).to.equal(true);
  });

  it('a server that comes back while the pool waits is used: every mail delivered, the backoff cleared', async () => {
    const port = await closedPort();
    pool = createPool({ server: { host: '127.0.0.1', port }, tls: 'none', maxConnections: 1, backoff: POLICY });
    const mails = Array.from({ length: 3 }, (_, i) => markedMail(`backoff-back-${i}`));
    const call = new CallRecorder('pool sendAll, server back', 'sendAll', mails).start(pool.sendAll(mails));
    await failedConnects(pool.state$, 1);
    await tick(DELAYS[0]!);
    await failedConnects(pool.state$, 2);
    scripted = await defaultServer({}, { port });
    const store = defaultServerStore(scripted);
    const since = store.mark();
    await tick(DELAYS[1]!);
    while (!call.done) await tick(10);

    expect(call.finish().fates).to.deep.equal(Array(3).fill(['delivered']));
    let last: PoolState | undefined;
    pool.state$.subscribe((s) => (last = s));
    expect(last!.backoff).to.equal(undefined);
    pool.close().subscribe();
    await tick(0);
    expect(await checkAccounting({ calls: [call.finish()], store, since })).to.deep.equal([]);
  });

  describe('a 421 in the same segment as the EHLO reply', () => {
    const closing: Step[] = [{ send: GREETING }, { expect: /^EHLO /, send: `${ehloReply(['PIPELINING'])}421 4.3.2 Service shutting down\r\n` }, { close: true }];
    const delivering: Step[] = [
      ...hello(['PIPELINING']),
      ...[0, 1].flatMap((): Step[] => [
        { expect: /^MAIL FROM:/, send: '250 2.1.0 Ok\r\n' },
        { expect: /^RCPT TO:/, send: '250 2.1.5 Ok\r\n' },
        { expect: 'DATA', send: '354 go ahead\r\n' },
        { expectData: true, send: '250 2.0.0 Ok: queued\r\n' },
      ]),
    ];

    /** Sends two mails and closes the pool, ticking virtual time until both are done. */
    async function sendAndClose(): Promise<string[]> {
      pool = createPool({ server: { host: '127.0.0.1', port: scripted!.port }, tls: 'none', maxConnections: 1, backoff: POLICY });
      const outcomes: string[] = [];
      let closed = false;
      pool.sendAll([markedMail('ehlo-421-0'), markedMail('ehlo-421-1')]).subscribe({
        next: (o) => outcomes.push(o.ok ? 'ok' : `${o.error.code} ${o.error.reply?.code} ${o.failure}`),
        complete: () => pool!.close().subscribe({ complete: () => (closed = true) }),
      });
      while (!closed) await tick(10);
      return outcomes;
    }

    it('once: the mails go on the next connection, and close() completes', async () => {
      scripted = await scriptedServer((n) => (n === 0 ? closing : delivering));
      expect(await sendAndClose()).to.deep.equal(['ok', 'ok']);
      expect(scripted.failures).to.deep.equal([]);
      expect(scripted.connections).to.equal(2);
    });

    it('on every connection: each mail fails (transient, the 421) after its chances, and close() completes', async () => {
      scripted = await scriptedServer(() => closing);
      expect(await sendAndClose()).to.deep.equal(Array(2).fill('ESERVERTEMP 421 transient'));
      // The EHLO reply is read first, so each connect succeeds and each mail spends its attempts.
      expect(scripted.connections).to.equal(MAX_ATTEMPTS);
    });
  });
});
