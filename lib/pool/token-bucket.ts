import { firstValueFrom, timer } from 'rxjs';

/**
 * A token bucket: holds at most `capacity` tokens, refilled continuously at `capacity` per `perMs`.
 * Each message takes one; when none is left, `take()` waits (an RxJS `timer`, so fake timers drive
 * it in tests) until the next one has grown. Over any span of T ms at most `capacity + capacity * T / perMs`
 * messages leave, and a burst of `capacity` leaves at once.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket(10, 1_000); // 10 messages a second
 * await bucket.take();
 * ```
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt = Date.now();
  /** Takers in line: each waits for the one before it, so tokens go out in the order asked. */
  private line: Promise<void> = Promise.resolve();

  constructor(
    private readonly capacity: number,
    private readonly perMs: number,
  ) {
    this.tokens = capacity;
  }

  /** Resolves once a token is taken. */
  take(): Promise<void> {
    const turn = this.line.then(() => this.takeNow());
    this.line = turn;
    return turn;
  }

  private async takeNow(): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = Math.ceil(((1 - this.tokens) * this.perMs) / this.capacity);
      await firstValueFrom(timer(waitMs));
    }
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) * this.capacity) / this.perMs);
    this.updatedAt = now;
  }
}
