import { AsyncSubject, BehaviorSubject, Observable, type ObservableInput, type SchedulerLike, Subject, type Subscription, defer, map } from 'rxjs';
import { abortError, aborted$ } from '../abort';
import type { CallOptions } from '../call-options';
import { SmtpError } from '../errors';
import type { Mail, SendResult } from '../mail/mail';
import type { PipeliningMode } from '../send/context';
import { mailInputOf } from '../send/mail-input';
import { resultOf } from '../send/outcome';
import type { SmtpSession } from '../session';
import { ServerHealth } from './backoff';
import { Batch, type Job } from './batch';
import type { PoolCore, PoolTranscriptLine, WorkerStatus } from './core';
import { Dispatcher } from './dispatcher';
import { type PoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from './options';
import { type PoolOutcome, failed } from './outcome';
import type { PoolState, SmtpPool } from './smtp-pool';
import { TokenBucket } from './token-bucket';
import { worker$ } from './worker';

/**
 * Creates a pool. Nothing connects until a mail is given; connections open as mails need them, up
 * to `maxConnections`, and close after `idleTimeout` without work.
 *
 * @throws {@link SmtpError} `EINVAL` for a bad option, server address or credentials.
 * @example
 * ```ts
 * const pool = createPool({ server: 'localhost:2525', maxConnections: 2, rateLimit: { messages: 10, perMs: 1_000 } });
 * ```
 */
export function createPool(options: PoolOptions): SmtpPool {
  return new Pool(resolvePoolOptions(options));
}

/** The pool: its calls' mails, its connection slots (each an Observable), and their counts, published. */
class Pool implements SmtpPool, PoolCore {
  readonly scheduler: SchedulerLike;
  readonly dispatcher: Dispatcher;
  readonly health: ServerHealth;
  readonly transcriptLines$ = new Subject<PoolTranscriptLine>();
  readonly transcript$ = this.transcriptLines$.asObservable();
  readonly state$: Observable<PoolState>;
  private closing = false;
  private pipelining: PipeliningMode | undefined;
  private readonly stateSubject: BehaviorSubject<PoolState>;
  private readonly closed$ = new AsyncSubject<void>();
  private readonly workers = new Map<object, { status: WorkerStatus; run: Subscription | undefined }>();
  private readonly sessions = new Set<SmtpSession>();
  private connectionsOpened = 0;
  private inFlightCount = 0;
  private sent = 0;
  private failedCount = 0;
  private signalWatch: Subscription | undefined;

  constructor(readonly options: ResolvedPoolOptions) {
    this.scheduler = options.scheduler;
    const limit = options.rateLimit;
    this.dispatcher = new Dispatcher(limit === undefined ? undefined : new TokenBucket(limit.messages, limit.perMs, this.scheduler));
    this.health = new ServerHealth(options.backoff, this.scheduler);
    this.stateSubject = new BehaviorSubject(this.snapshot());
    this.state$ = this.stateSubject.asObservable();
    const signal = options.signal;
    if (signal !== undefined) this.signalWatch = aborted$(signal).subscribe(() => this.abort(abortError(signal)));
  }

  send(mail: Mail, options?: CallOptions): Observable<SendResult> {
    return this.sendAll([mail], options).pipe(map(resultOf));
  }

  sendAll(mails: ObservableInput<Mail>, options: CallOptions = {}): Observable<PoolOutcome> {
    return new Observable<PoolOutcome>((subscriber) => {
      if (this.closing) return subscriber.error(new SmtpError('EPERM', 'the pool is closing'));
      const input = mailInputOf(mails);
      if (input instanceof SmtpError) return subscriber.error(input);
      const { signal, ...hooks } = options;
      const batch: Batch = new Batch(input, subscriber, hooks, () => {
        this.dispatcher.remove(batch);
        this.publish();
        this.completeIfDone();
      });
      this.dispatcher.add(batch);
      batch.endIfEmpty();
      if (!this.spawn()) this.publish();
      const abort = signal === undefined ? undefined : aborted$(signal).subscribe(() => this.abortBatch(batch, abortError(signal)));
      return () => {
        abort?.unsubscribe();
        batch.cancel();
      };
    });
  }

  close(): Observable<void> {
    return defer(() => {
      if (!this.closing) {
        this.closing = true;
        // Connections waiting for work hear that there will be none.
        this.dispatcher.close();
        this.publish();
        this.completeIfDone();
      }
      return this.closed$;
    });
  }

  isClosing(): boolean {
    return this.closing;
  }

  learnedPipelining(): PipeliningMode | undefined {
    return this.pipelining;
  }

  hasWork(): boolean {
    return this.dispatcher.pending > 0;
  }

  took(): void {
    this.spawn();
  }

  settle(job: Job, outcome: PoolOutcome): void {
    if (outcome.ok) this.sent++;
    else this.failedCount++;
    job.batch.settle(job, outcome);
    this.publish();
  }

  setStatus(slot: object, status: WorkerStatus): void {
    const worker = this.workers.get(slot);
    if (worker === undefined || worker.status === status) return;
    worker.status = status;
    this.publish();
  }

  inFlight(delta: 1 | -1): void {
    this.inFlightCount += delta;
    this.publish();
  }

  opened(session: SmtpSession): void {
    this.sessions.add(session);
    const id = ++this.connectionsOpened;
    // Only while someone listens: the session formats its transcript for subscribers alone.
    if (this.transcriptLines$.observed) session.transcript$.subscribe((line) => this.transcriptLines$.next({ ...line, connection: id }));
  }

  closed(session: SmtpSession): void {
    session.dispose();
    this.sessions.delete(session);
  }

  connected(): void {
    this.health.succeeded();
    this.publish();
  }

  /** A connect failed: the next waits longer; once the policy is spent, the mails waiting fail rather than wait. */
  connectFailed(error: SmtpError, since: number): void {
    this.health.failed(since);
    if (this.health.down) this.failWaiting(error);
    this.publish();
  }

  learnedWithinMail(): void {
    if ((this.options.session.pipelining ?? 'across-mails') === 'across-mails') this.pipelining = 'within-mail';
  }

  workerFailed(slot: object, error: SmtpError): void {
    this.failWaiting(error);
    this.workerEnded(slot);
  }

  /**
   * Starts connection slots for the work that no slot is ready to take, up to `maxConnections`. A
   * lazy input shows its mails as it is read, so the pool opens one connection for it and another
   * each time every lane is busy and the input has shown one more (see {@link Dispatcher.expected}).
   */
  private spawn(): boolean {
    if (this.workers.size >= this.options.maxConnections) return false;
    let connecting = 0;
    for (const worker of this.workers.values()) if (worker.status === 'connecting') connecting++;
    let unserved = this.dispatcher.expected - this.dispatcher.waiting - connecting;
    if (unserved <= 0) return false;
    while (unserved > 0 && this.workers.size < this.options.maxConnections) {
      const slot = {};
      this.workers.set(slot, { status: 'connecting', run: undefined });
      const run = worker$(this, slot).subscribe({ complete: () => this.workerEnded(slot) });
      const worker = this.workers.get(slot);
      if (worker !== undefined) worker.run = run;
      unserved--;
    }
    this.publish();
    return true;
  }

  private workerEnded(slot: object): void {
    if (!this.workers.delete(slot)) return;
    this.publish();
    // Work that came back (a dead connection's mails) while every slot was ending needs a slot.
    if (this.hasWork()) this.spawn();
    this.completeIfDone();
  }

  /**
   * The server cannot be reached: the mails waiting to be sent again, and what the inputs hold
   * ready, fail (transient, with the connect's error) rather than wait for a server that is down.
   */
  private failWaiting(error: SmtpError): void {
    const fail = (job: Job): void => this.settle(job, failed(job, error));
    for (let next = this.dispatcher.poll(); typeof next !== 'string'; next = this.dispatcher.poll()) {
      fail(next);
      if (next.batch.remaining === Infinity) break;
    }
  }

  /** A call's signal aborted: its mails still in line are not sent, those on connections are cancelled there. */
  private abortBatch(batch: Batch, error: SmtpError): void {
    batch.abort(error, this.dispatcher.takeRetriesOf(batch));
  }

  /** The pool's signal aborted: every call ends with ECANCELED, every connection closes now. */
  private abort(error: SmtpError): void {
    this.closing = true;
    for (const batch of this.dispatcher.batchesNow()) this.abortBatch(batch, error);
    for (const session of [...this.sessions]) session.dispose();
    // A slot waiting out a backoff, or for work, stops now: nothing it holds is owed a fate any more.
    for (const worker of [...this.workers.values()]) worker.run?.unsubscribe();
    this.workers.clear();
    this.dispatcher.close();
    this.publish();
    this.completeIfDone();
  }

  private completeIfDone(): void {
    if (!this.closing || this.workers.size > 0 || this.dispatcher.hasBatches || this.dispatcher.queued > 0 || this.stateSubject.closed) return;
    this.stateSubject.next(this.snapshot());
    this.stateSubject.complete();
    this.transcriptLines$.complete();
    this.signalWatch?.unsubscribe();
    this.closed$.next();
    this.closed$.complete();
  }

  private publish(): void {
    if (!this.stateSubject?.closed) this.stateSubject?.next(this.snapshot());
  }

  private snapshot(): PoolState {
    const connections: Record<WorkerStatus, number> = { connecting: 0, busy: 0, idle: 0, closing: 0 };
    for (const worker of this.workers?.values() ?? []) connections[worker.status]++;
    const state: PoolState = {
      connections,
      queued: this.dispatcher?.queued ?? 0,
      inFlight: this.inFlightCount,
      sent: this.sent,
      failed: this.failedCount,
      closing: this.closing,
    };
    const failures = this.health?.failuresInARow ?? 0;
    if (failures > 0) state.backoff = { failures, down: this.health.down };
    return state;
  }
}
