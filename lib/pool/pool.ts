import { AsyncSubject, BehaviorSubject, Observable, type ObservableInput, Subject, defer, map, throwError } from 'rxjs';
import { type CallOptions, abortError, abortable } from '../abort';
import { SmtpError } from '../errors';
import type { Mail, SendResult } from '../mail/mail';
import { resultOf } from '../send/outcome';
import type { SmtpSession } from '../session';
import type { TranscriptLine } from '../transport/transcript';
import { Batch, Dispatcher, type Job } from './dispatcher';
import { type PoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from './options';
import type { PoolOutcome } from './outcome';
import { TokenBucket } from './token-bucket';
import { type PoolCore, Worker, type WorkerStatus } from './worker';

/**
 * A snapshot of the pool, emitted on every change.
 *
 * @example
 * ```ts
 * pool.state$.subscribe((s) => console.log(`${s.connections.busy} busy, ${s.inFlight} in flight, ${s.sent} sent`));
 * ```
 */
export interface PoolState {
  /** Connection slots by what they are doing. */
  connections: Record<WorkerStatus, number>;
  /** Mails waiting for another connection after theirs died before their end of data. */
  queued: number;
  /** Mails handed to a connection and not answered yet. */
  inFlight: number;
  /** Mails the server accepted. */
  sent: number;
  /** Mails that failed (permanent, transient or uncertain). */
  failed: number;
  /** True once `close()` was called. */
  closing: boolean;
}

/**
 * A line of one of the pool's connections, numbered from 1 in the order they were opened.
 *
 * @example
 * ```ts
 * pool.transcript$.subscribe((t: PoolTranscriptLine) => console.error(t.connection, t.direction, t.line));
 * ```
 */
export interface PoolTranscriptLine extends TranscriptLine {
  /** Which connection: 1 for the first the pool opened, and so on. */
  connection: number;
}

/**
 * Many connections to one server, scheduled for you. Each mail is given to one connection at a
 * time, never two transactions interleave on a socket, and every mail given ends as exactly one
 * outcome.
 *
 * @example
 * ```ts
 * const pool = createPool({ server: 'smtp://mail.example.com:587', username: 'alice', password, maxConnections: 3 });
 * pool.sendAll(mails).subscribe((o) => console.log(o.ok ? o.result.queueId : `${o.failure} ${o.error.code}`));
 * ```
 */
export interface SmtpPool {
  /** Sends one mail on whichever connection frees up first; its result, or an {@link SmtpError}. */
  send(mail: Mail, options?: CallOptions): Observable<SendResult>;
  /**
   * Sends mails over the pool's connections, in completion order, one outcome per mail. An iterable
   * or async iterable input is read only as connections have room (backpressure). Completes when every
   * mail has its outcome; errors (`EIO`, with the cause) only when the input itself fails, after the
   * outcomes of the mails it gave. Unsubscribing stops reading the input.
   */
  sendAll(mails: ObservableInput<Mail>, options?: CallOptions): Observable<PoolOutcome>;
  /** The current state on subscribe, then every change; completes once closed. */
  readonly state$: Observable<PoolState>;
  /** Every connection's transcript (AUTH payloads redacted), hot; completes once closed. */
  readonly transcript$: Observable<PoolTranscriptLine>;
  /** Refuses new mail (`EPERM`), lets every mail already given finish, QUITs every connection, completes. */
  close(): Observable<void>;
}

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

class Pool implements SmtpPool, PoolCore {
  readonly dispatcher: Dispatcher;
  readonly wake$ = new Subject<void>();
  readonly transcriptLines$ = new Subject<PoolTranscriptLine>();
  readonly transcript$ = this.transcriptLines$.asObservable();
  private connections = 0;
  readonly sessions = new Set<SmtpSession>();
  closing = false;
  private readonly workers = new Map<Worker, WorkerStatus | undefined>();
  private inFlightCount = 0;
  private sent = 0;
  private failedCount = 0;
  private readonly stateSubject: BehaviorSubject<PoolState>;
  private readonly closed$ = new AsyncSubject<void>();
  readonly state$: Observable<PoolState>;

  constructor(readonly options: ResolvedPoolOptions) {
    const limit = options.rateLimit;
    this.dispatcher = new Dispatcher(limit === undefined ? undefined : new TokenBucket(limit.messages, limit.perMs));
    this.stateSubject = new BehaviorSubject(this.snapshot());
    this.state$ = this.stateSubject.asObservable();
    const signal = options.signal;
    if (signal?.aborted === true) this.abort(signal);
    else if (signal !== undefined) {
      const onAbort = (): void => this.abort(signal);
      signal.addEventListener('abort', onAbort, { once: true });
      this.closed$.subscribe({ complete: () => signal.removeEventListener('abort', onAbort) });
    }
  }

  /** The pool's signal aborted: every sendAll ends with ECANCELED, every connection closes now. */
  private abort(signal: AbortSignal): void {
    this.closing = true;
    this.dispatcher.abortAll(abortError(signal));
    for (const session of this.sessions) session.dispose();
    this.wake$.next();
    this.publish();
    this.completeIfDone();
  }

  send(mail: Mail, options?: CallOptions): Observable<SendResult> {
    return this.sendAll([mail], options).pipe(map(resultOf));
  }

  sendAll(mails: ObservableInput<Mail>, options?: CallOptions): Observable<PoolOutcome> {
    const sendAll$ = defer(() => {
      if (this.closing) return throwError(() => new SmtpError('EPERM', 'the pool is closing'));
      return new Observable<PoolOutcome>((subscriber) => {
        const batch = new Batch(
          mails,
          (outcome) => subscriber.next(outcome),
          (error) => {
            this.dispatcher.remove(batch);
            this.publish();
            if (error === undefined) subscriber.complete();
            else subscriber.error(error);
          },
        );
        this.dispatcher.add(batch);
        this.wake$.next();
        this.spawn(Array.isArray(mails) ? mails.length : Infinity);
        return () => {
          batch.cancel();
          this.dispatcher.remove(batch);
        };
      });
    });
    return sendAll$.pipe(abortable(options?.signal));
  }

  close(): Observable<void> {
    return defer(() => {
      if (!this.closing) {
        this.closing = true;
        this.wake$.next();
        this.publish();
        this.completeIfDone();
      }
      return this.closed$;
    });
  }

  settle(job: Job, outcome: PoolOutcome): void {
    if (outcome.ok) this.sent++;
    else this.failedCount++;
    job.batch.settle(outcome);
    this.publish();
  }

  setStatus(worker: Worker, status: WorkerStatus | undefined): void {
    if (status === undefined) this.workers.delete(worker);
    else this.workers.set(worker, status);
    this.publish();
    if (status === undefined) {
      // Work that came back (a dead connection's mails) while every slot was ending needs a slot.
      if (this.dispatcher.queued > 0) this.spawn(this.dispatcher.queued);
      this.completeIfDone();
    }
  }

  nextConnectionId(): number {
    return ++this.connections;
  }

  inFlight(delta: number): void {
    this.inFlightCount += delta;
  }

  /**
   * Starts workers for up to `work` more mails, in the free slots, counting idle connections (woken by
   * `wake$`) as taken. A worker that finds no work ends at once, without connecting.
   */
  private spawn(work: number): void {
    const idle = [...this.workers.values()].filter((status) => status === 'idle').length;
    const wanted = Math.min(this.options.maxConnections - this.workers.size, work - idle);
    for (let i = 0; i < wanted; i++) {
      const worker = new Worker(this);
      this.workers.set(worker, 'connecting');
      void worker.run();
    }
    this.publish();
  }

  private isDone(): boolean {
    return this.closing && this.workers.size === 0 && !this.dispatcher.hasBatches && this.dispatcher.queued === 0;
  }

  private completeIfDone(): void {
    if (!this.isDone() || this.stateSubject.closed) return;
    this.stateSubject.next(this.snapshot());
    this.stateSubject.complete();
    this.transcriptLines$.complete();
    this.closed$.next();
    this.closed$.complete();
  }

  private publish(): void {
    if (!this.stateSubject.closed) this.stateSubject.next(this.snapshot());
  }

  private snapshot(): PoolState {
    const connections: Record<WorkerStatus, number> = { connecting: 0, busy: 0, idle: 0, closing: 0 };
    for (const status of this.workers?.values() ?? []) if (status !== undefined) connections[status]++;
    return {
      connections,
      queued: this.dispatcher?.queued ?? 0,
      inFlight: this.inFlightCount,
      sent: this.sent,
      failed: this.failedCount,
      closing: this.closing,
    };
  }
}
