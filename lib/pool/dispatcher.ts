import { EMPTY, Observable, Subject, type Subscription, concat, concatMap, defer, filter, map, of, startWith, take, takeUntil } from 'rxjs';
import { aborted$ } from '../abort';
import type { Batch, Job } from './batch';
import type { TokenBucket } from './token-bucket';

/** What {@link Dispatcher.poll} finds: a job, none yet (an input will give more later), or no work at all. */
export type Dispatched = Job | 'wait' | 'none';

/**
 * Hands out jobs to connections that have room: mails to send again first (their connection died
 * before their end of data), then each `sendAll`'s input in turn (round robin, so that one endless
 * input does not starve the calls made after it). Nothing is read from an input before a connection
 * asks, so an input of a million mails stays where it is; a rate limit lets each job go only when
 * its token has come.
 *
 * @example
 * ```ts
 * dispatcher.next$().subscribe((job) => send(job)); // completes at once when there is no work
 * ```
 */
export class Dispatcher {
  /** Emits when work may have arrived: a call, a mail to send again, an input that gave more. */
  readonly changed$ = new Subject<void>();
  private retries: Job[] = [];
  /** Jobs handed to a connection's `next$()` that wait there for their rate-limit token: nothing of them is written. */
  private readonly awaitingToken = new Set<Job>();
  private readonly batches: Batch[] = [];
  private readonly watching = new Map<Batch, Subscription>();
  private turn = 0;
  /** Connections waiting in `next$()` for a job now. */
  private waitingCount = 0;
  /** The pool is closing: a connection waiting for work hears there will be none. */
  private closing = false;

  constructor(private readonly bucket: TokenBucket | undefined) {}

  /** Mails waiting for another connection after theirs died before their end of data. */
  get queued(): number {
    return this.retries.length;
  }

  get hasBatches(): boolean {
    return this.batches.length > 0;
  }

  /** Connections waiting for a job now. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** How many mails may still be handed out: retries plus what the inputs may give (Infinity when unknown). */
  get pending(): number {
    return this.batches.reduce((sum, batch) => sum + batch.remaining, this.retries.length);
  }

  /** How many mails to plan connections for: retries plus what the inputs hold or show they may (see {@link Batch.expected}). */
  get expected(): number {
    return this.batches.reduce((sum, batch) => sum + batch.expected, this.retries.length);
  }

  /** No more calls will come: connections waiting for work stop when there is none. */
  close(): void {
    this.closing = true;
    this.changed$.next();
  }

  /** The calls being served now. */
  batchesNow(): Batch[] {
    return [...this.batches];
  }

  add(batch: Batch): void {
    this.batches.push(batch);
    this.watching.set(batch, batch.changed$.subscribe(() => this.changed$.next()));
    this.changed$.next();
  }

  remove(batch: Batch): void {
    const at = this.batches.indexOf(batch);
    if (at >= 0) this.batches.splice(at, 1);
    this.watching.get(batch)?.unsubscribe();
    this.watching.delete(batch);
    this.retries = this.retries.filter((job) => job.batch !== batch);
    this.changed$.next();
  }

  /** A job whose connection died before its end of data left: first in line for the next connection. */
  retry(job: Job): void {
    this.retries.push(job);
    this.changed$.next();
  }

  /**
   * The jobs of `batch` that are in line and not on a connection: waiting to be sent again, or for
   * their rate-limit token (they leave the line; a token wait ends when the batch's signal aborts).
   */
  takeRetriesOf(batch: Batch): Job[] {
    const mine = this.retries.filter((job) => job.batch === batch);
    this.retries = this.retries.filter((job) => job.batch !== batch);
    for (const job of this.awaitingToken) {
      if (job.batch !== batch) continue;
      this.awaitingToken.delete(job);
      mine.push(job);
    }
    return mine;
  }

  /** The next job now, without waiting. */
  poll(): Dispatched {
    const retry = this.retries.shift();
    if (retry !== undefined) return retry;
    let waiting = false;
    for (let tried = 0; tried < this.batches.length; tried++) {
      const batch = this.batches[this.turn++ % this.batches.length]!;
      const next = batch.take();
      if (typeof next !== 'string') return next;
      if (next === 'wait') waiting = true;
    }
    return waiting ? 'wait' : 'none';
  }

  /**
   * Emits the next job once there is one and the rate limit lets it go, then completes; completes
   * without a job once the pool is closing and there is no work at all (until then an idle
   * connection waits here, and its own idle timeout ends the wait). Unsubscribing while the job
   * waits for its token puts it back first in line.
   */
  next$(): Observable<Job> {
    return new Observable<Job>((subscriber) => {
      this.waitingCount++;
      let counted = true;
      const uncount = (): void => {
        if (counted) this.waitingCount--;
        counted = false;
      };
      let held: Job | undefined;
      const subscription = this.changed$
        .pipe(
          startWith(undefined),
          map(() => this.poll()),
          filter((found): found is Job | 'none' => found !== 'wait' && (found !== 'none' || this.closing)),
          take(1),
          concatMap((found) => {
            uncount();
            if (found === 'none') return EMPTY;
            if (this.bucket === undefined) return of(found);
            held = found;
            this.awaitingToken.add(found);
            // A call that ends while its job waits for a token takes the job back (see takeRetriesOf):
            // the token goes back, and this connection waits for other work.
            const token$ = this.bucket.take$().pipe(
              map(() => found),
              takeUntil(aborted$(found.batch.controller.signal)),
            );
            return concat(token$, defer(() => (found.batch.cancelled ? this.next$() : EMPTY)));
          }),
        )
        .subscribe({
          next: (job) => {
            if (held !== undefined) this.awaitingToken.delete(held);
            held = undefined;
            subscriber.next(job);
          },
          error: (err: unknown) => subscriber.error(err),
          complete: () => subscriber.complete(),
        });
      return () => {
        uncount();
        subscription.unsubscribe();
        if (held === undefined) return;
        this.awaitingToken.delete(held);
        if (!held.batch.cancelled) this.retries.unshift(held);
      };
    });
  }
}
