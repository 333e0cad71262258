import { Observable, type SchedulerLike, asyncScheduler, defer, map, of, timer } from 'rxjs';

/**
 * A token bucket: holds at most `capacity` tokens, refilled continuously at `capacity` per `perMs`.
 * Each message takes one. Over any span of T ms at most `capacity + capacity * T / perMs` messages
 * leave, and a burst of `capacity` leaves at once.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket(10, 1_000); // 10 messages a second
 * bucket.take$().subscribe(() => send());
 * ```
 */
export class TokenBucket {
  /** Tokens now; below zero, the tokens promised to takers still waiting. */
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly capacity: number,
    private readonly perMs: number,
    private readonly scheduler: SchedulerLike = asyncScheduler,
  ) {
    this.tokens = capacity;
    this.updatedAt = scheduler.now();
  }

  /**
   * Emits once a token is taken: at once when there is one, else when its turn has grown (an RxJS
   * `timer`, so fake timers and a TestScheduler drive it). Takers are served in the order they ask.
   * Unsubscribing before then gives the promised token back: an aborted sender sends nothing later.
   */
  take$(): Observable<void> {
    return defer(() => {
      this.refill();
      this.tokens -= 1;
      if (this.tokens >= 0) return of(undefined);
      const waitMs = Math.ceil((-this.tokens * this.perMs) / this.capacity);
      let taken = false;
      return new Observable<void>((subscriber) => {
        const wait = timer(waitMs, this.scheduler)
          .pipe(map(() => undefined))
          .subscribe(() => {
            taken = true;
            subscriber.next();
            subscriber.complete();
          });
        return () => {
          wait.unsubscribe();
          if (!taken) this.tokens += 1;
        };
      });
    });
  }

  private refill(): void {
    const now = this.scheduler.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) * this.capacity) / this.perMs);
    this.updatedAt = now;
  }
}
