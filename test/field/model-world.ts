import { type Observable, lastValueFrom } from 'rxjs';
import type * as sinon from 'sinon';
import type { Mail } from '../../lib/mail/mail';
import { type SmtpPool, createPool } from '../../lib/pool';
import { type SmtpSession, createSession } from '../../lib/session';
import { checkAccounting } from '../fixtures/accounting';
import { CallRecorder } from '../fixtures/call-recorder';
import { type FaultProxy, randomPlan, startFaultProxy } from '../fixtures/fault-proxy';
import { type HandleCounts, activeHandles } from '../fixtures/handles';
import { type MailStore, smtpServerStore } from '../fixtures/mail-store';
import { BROKEN, type BodyKind, readableOf } from '../fixtures/marked-mail';
import { turns } from '../fixtures/observe';
import { random } from '../fixtures/random';
import type { SmtpServerFixture } from '../fixtures/smtp-server';

/**
 * The real side of the model-based tests (model-commands.ts): one session or one pool, talking
 * through the fault proxy (a random plan per connection, from the run's seed) to smtp-server in
 * this process, under fake timers that move only when nothing else happens. It tracks every call
 * (with a {@link CallRecorder}) and every other operation, knows how to wait for them with an
 * upper bound, and at the end disposes everything and runs the accounting check.
 *
 * @example
 * ```ts
 * const world = await World.open({ mode: 'pool', server, clock, seed: 7 });
 * // ... commands ...
 * const violations = await world.close();
 * ```
 */

/** The library's `timeout` in the runs: virtual time, so its size costs nothing real. */
export const TIMEOUT_MS = 1_000;
/** Virtual time a wait may take before it counts as a hang: any timeout has fired many times over. */
const HANG_VIRTUAL_MS = 30 * TIMEOUT_MS;
/**
 * Real time a call may take to end after dispose, abort or unsubscribe, with the clock standing
 * still: those must end it at once, not when some timeout fires.
 */
const PROMPT_END_MS = 2_000;
/** Turns of the event loop without progress before the fake clock moves on. */
const IDLE_TURNS = 8;
/** Connections of a pool: two, so that one can be stuck while the other works. */
export const POOL_CONNECTIONS = 2;

// Captured at load: the clock is faked during a run, the bounds are real time.
const realNow = performance.now.bind(performance);

/** A call being tracked, with what can cancel it. */
export interface Tracked {
  recorder: CallRecorder;
  mails: readonly unknown[];
  controller: AbortController | undefined;
  /**
   * Holds a body that never ends, or was made while such a call was live (queued behind it on the
   * session, or handed to the connection it holds): it may wait forever until dispose, abort or unsubscribe.
   */
  mayBlock: boolean;
}

/** Options of a run. */
export interface WorldOptions {
  mode: 'session' | 'pool';
  server: SmtpServerFixture;
  clock: sinon.SinonFakeTimers;
  /** Seeds the proxy's faults. */
  seed: number;
  /** Share of connections with a fault (0..1). */
  faultRate: number;
}

export class World {
  readonly calls: Tracked[] = [];
  /** Other operations (quit, close, connect): they must end too. */
  readonly operations: { label: string; ended: Promise<void>; done: () => boolean }[] = [];
  readonly reusable: Mail[] = [];
  /** Broken rules seen during the run (a call that did not end after abort or dispose). */
  readonly violations: string[] = [];
  disposed = false;
  /** How the run's mails ended, for a summary: a run that delivers nothing proves little. */
  readonly fates: Record<string, number> = {};
  private markers = 0;
  private poolClosed = false;

  private constructor(
    readonly options: WorldOptions,
    readonly proxy: FaultProxy,
    readonly store: MailStore,
    readonly since: number,
    readonly baseline: HandleCounts,
    readonly session: SmtpSession | undefined,
    readonly pool: SmtpPool | undefined,
    /** The pool's signal: aborting it is how a pool is disposed. */
    private readonly poolAbort: AbortController,
  ) {
    pool?.state$.subscribe({ complete: () => (this.poolClosed = true) });
  }

  /** Starts the proxy and the client (a session is connected; a pool connects as mail comes). */
  static async open(options: WorldOptions): Promise<World> {
    await turns(1);
    const baseline = activeHandles();
    const rng = random(options.seed);
    const proxy = await startFaultProxy({ port: options.server.port }, () => randomPlan(rng, { faultRate: options.faultRate, maxOffset: 3_000 }));
    const store = smtpServerStore(options.server);
    const common = { tls: 'none' as const, timeout: TIMEOUT_MS };
    const server = { host: '127.0.0.1', port: proxy.port };
    const poolAbort = new AbortController();
    const session = options.mode === 'session' ? createSession(common) : undefined;
    const pool =
      options.mode === 'pool'
        ? createPool({ ...common, server, maxConnections: POOL_CONNECTIONS, idleTimeout: TIMEOUT_MS, signal: poolAbort.signal })
        : undefined;
    const world = new World(options, proxy, store, store.mark(), baseline, session, pool, poolAbort);
    if (session !== undefined) await world.connect();
    return world;
  }

  /** A unique marker for a new mail of this run. */
  marker(): string {
    return `mdl${this.options.seed}-${String(++this.markers).padStart(3, '0')}`;
  }

  /** Connects the session (if it is not connected), waiting with the clock moving. */
  async connect(): Promise<void> {
    const session = this.session!;
    let done = false;
    const ended = lastValueFrom(session.connect({ host: '127.0.0.1', port: this.proxy.port }))
      .catch(() => undefined)
      .then(() => void (done = true));
    this.operations.push({ label: 'connect', ended, done: () => done });
    await this.drive(() => done, 'connect');
  }

  /** Starts a send or sendAll and tracks it; the bound says how many cancelled mails may still be stored. */
  start(kind: 'send' | 'sendAll', mails: readonly unknown[], bodies: readonly (BodyKind | undefined)[], withSignal: boolean): Tracked {
    const controller = withSignal ? new AbortController() : undefined;
    const options = controller === undefined ? undefined : { signal: controller.signal };
    const bound = this.pool !== undefined ? POOL_CONNECTIONS : 1;
    const label = `${kind} #${this.calls.length + 1}`;
    const recorder = new CallRecorder(label, kind, mails, bound);
    const client = this.pool ?? this.session!;
    const call$: Observable<unknown> = kind === 'send' ? client.send(mails[0] as Mail, options) : client.sendAll(mails as Mail[], options);
    recorder.start(call$);
    // A body that never ends holds its connection: calls queued on that session (or, in a pool,
    // mails handed to that connection) wait behind it until a dispose, abort or fault ends it.
    const holdsItsConnection = bodies.some((b) => b !== undefined && BROKEN.includes(b) && b !== 'errors');
    const tracked = { recorder, mails, controller, mayBlock: holdsItsConnection || this.live().some((call) => call.mayBlock) };
    this.calls.push(tracked);
    return tracked;
  }

  /** Tracks an operation that must end (quit, close). */
  track(label: string, operation$: Observable<unknown>): void {
    let done = false;
    const ended = lastValueFrom(operation$, { defaultValue: undefined })
      .catch(() => undefined)
      .then(() => void (done = true));
    this.operations.push({ label, ended, done: () => done });
  }

  live(): Tracked[] {
    return this.calls.filter((call) => !call.recorder.done);
  }

  /** Closes the client at once: a session is disposed, a pool's signal aborted. */
  dispose(): void {
    this.disposed = true;
    this.session?.dispose();
    if (this.pool === undefined) return;
    // The pool's signal ends every sendAll with ECANCELED: an abort by this caller, as a call's own signal is.
    for (const call of this.live()) call.recorder.aborting();
    this.poolAbort.abort();
  }

  /** Something moved: bytes through the proxy, a call or operation ended, a message stored. */
  private activity(): number {
    return (
      this.proxy.traffic +
      this.calls.filter((c) => c.recorder.done).length +
      this.operations.filter((o) => o.done()).length +
      this.options.server.messages.length
    );
  }

  /**
   * Lets the run go on until `until()` holds: real I/O first, and when nothing has moved for a few
   * turns, the fake clock to its next timer. Throws a hang when virtual time runs past any timeout.
   */
  async drive(until: () => boolean, what: string): Promise<void> {
    const clock = this.options.clock;
    const started = clock.now;
    while (!until()) {
      const before = this.activity();
      await turns(IDLE_TURNS);
      if (until() || this.activity() !== before || this.proxy.busy) continue;
      if (clock.now - started > HANG_VIRTUAL_MS) throw new Error(`hang: ${what} did not end within ${HANG_VIRTUAL_MS} ms of virtual time`);
      if (clock.countTimers() === 0) {
        // Nothing can move by the clock either: whatever is waiting waits for ever.
        if ((await this.idleFor(PROMPT_END_MS, until)) === false) throw new Error(`hang: ${what} waits with no timer left`);
        continue;
      }
      await clock.nextAsync();
    }
  }

  /** Waits by real turns (the clock still) up to `ms` for `until()`; false if it never held. */
  async idleFor(ms: number, until: () => boolean): Promise<boolean> {
    const deadline = realNow() + ms;
    while (!until() && realNow() < deadline) await turns(IDLE_TURNS);
    return until();
  }

  /** After dispose, abort or unsubscribe: `calls` must end promptly, without the clock moving. */
  async expectPromptEnd(calls: readonly Tracked[], why: string): Promise<string[]> {
    const ended = await this.idleFor(PROMPT_END_MS, () => calls.every((c) => c.recorder.done));
    if (ended) return [];
    return calls.filter((c) => !c.recorder.done).map((c) => `${c.recorder.label} did not end after ${why} (it hangs)`);
  }

  /**
   * The fake timers pending that are the client's: their delays and the first line of their
   * callbacks. smtp-server runs in this process under the same fake clock, and a connection the
   * client closed before its greeting leaves the server's 100 ms greeting delay (`connectionReady`)
   * pending: that one is the server's.
   */
  private clientTimers(): string[] {
    type Timer = { func: unknown; delay?: number };
    const raw = (this.options.clock as unknown as { timers?: Map<number, Timer> | Record<string, Timer> }).timers ?? {};
    const timers: Timer[] = raw instanceof Map ? [...raw.values()] : Object.values(raw);
    return timers
      .map((t) => `${t.delay ?? '?'} ms: ${String(t.func).replace(/\s+/g, ' ').slice(0, 60)}`)
      .filter((described) => !described.includes('connectionReady'));
  }

  /** Ends the run: disposes, checks that everything ended and was released, and the accounting. */
  async close(): Promise<string[]> {
    const violations = [...this.violations];
    // What can finish finishes first (unless a body that never ends holds it): a dispose in the
    // middle of the work is a command of its own, not the way every run ends.
    if (!this.disposed && !this.live().some((call) => call.mayBlock)) {
      await this.drive(() => this.live().length === 0 && this.operations.every((o) => o.done()), 'the end of the run: every call').catch((error: Error) => violations.push(error.message));
    }
    if (!this.disposed) this.dispose();
    violations.push(...(await this.expectPromptEnd(this.calls, 'dispose')));
    const operationsEnded = await this.idleFor(PROMPT_END_MS, () => this.operations.every((o) => o.done()));
    if (!operationsEnded) violations.push(...this.operations.filter((o) => !o.done()).map((o) => `${o.label} did not end after dispose (it hangs)`));
    if (this.pool !== undefined && !(await this.idleFor(PROMPT_END_MS, () => this.poolClosed))) violations.push('the pool did not close after its signal aborted');
    for (const call of this.calls) {
      for (const mail of call.mails) {
        const readable = typeof mail === 'object' && mail !== null ? readableOf(mail as Mail) : undefined;
        if (readable !== undefined && readable.readableDidRead && !readable.destroyed && !readable.readableEnded) {
          violations.push(`${call.recorder.label}: a Node stream body it read was never destroyed`);
        }
      }
    }
    if (process.env.MODEL_DEBUG) {
      for (const c of this.proxy.connections) {
        const ts = c.forwarded('toServer').toString('latin1');
        console.log('conn', c.index, JSON.stringify(c.plan), JSON.stringify(c.cut), 'toServer tail:', JSON.stringify(ts));
        console.log('   toClient tail:', JSON.stringify(c.forwarded('toClient').toString("latin1")));
      }
    }
    // A congested proxy socket does not read, so it cannot see the client go: the proxy is closed by force.
    await this.proxy.close();
    await this.options.server.idle();
    const timersLeft = this.clientTimers();
    if (timersLeft.length > 0) violations.push(`${timersLeft.length} timers left running after dispose (${timersLeft.join('; ')})`);
    const records = this.calls.map((c) => c.recorder.finish());
    violations.push(...(await checkAccounting({ calls: records, store: this.store, since: this.since, baseline: this.baseline })));
    for (const record of records) for (const fates of record.fates) for (const fate of fates) this.fates[fate] = (this.fates[fate] ?? 0) + 1;
    return violations;
  }

}
