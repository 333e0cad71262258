import { type Observable, type SchedulerLike, EMPTY, defer, ignoreElements, timer } from 'rxjs';

/**
 * How a pool waits for a server it cannot reach: after each failed connect, the next one waits
 * `initialDelay` ms, doubling up to `maxDelay`, each with full jitter (a random part of it, so that
 * many clients do not come back at once); after `attempts` failed connects in a row the mails
 * waiting fail (transient, with the connect's error) until a connect succeeds again.
 *
 * @example
 * ```ts
 * const policy: BackoffPolicy = { initialDelay: 100, maxDelay: 10_000, attempts: 6 };
 * ```
 */
export interface BackoffPolicy {
  /** Milliseconds before the first retry. Default {@link DEFAULT_BACKOFF}.initialDelay. */
  initialDelay: number;
  /** The cap of the doubling delay. */
  maxDelay: number;
  /** Failed connects in a row before waiting mails fail. */
  attempts: number;
}

/**
 * 100 ms doubling to 10 s, six attempts: about 6 s of waiting (3 s on average with jitter) before
 * a mail fails, which rides out a server restart (Postfix's takes about 3 s) and still tells the
 * caller of an outage within seconds.
 */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialDelay: 100, maxDelay: 10_000, attempts: 6 };

/**
 * The pool's view of its server's health: how many rounds of connects failed in a row, and when
 * the next round may begin. The connections of a pool wait for the same moment, so a burst that
 * opened several connections at once retries them together, and their failures count once.
 *
 * @example
 * ```ts
 * const since = health.failuresInARow;
 * concat(health.wait$(), connect$).pipe(tap({ complete: () => health.succeeded(), error: () => health.failed(since) }));
 * ```
 */
export class ServerHealth {
  private failures = 0;
  /** When the next round of connects may begin (the scheduler's clock), set by the failure that counted. */
  private retryAt = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly scheduler: SchedulerLike,
    private readonly random: () => number = Math.random,
  ) {}

  /** Rounds of connects that failed in a row. */
  get failuresInARow(): number {
    return this.failures;
  }

  /** True once the policy's attempts are spent: mails waiting fail rather than wait. */
  get down(): boolean {
    return this.failures >= this.policy.attempts;
  }

  /** Completes when the next round of connects may begin (at once when the server is healthy). */
  wait$(): Observable<never> {
    return defer(() => {
      const delay = this.failures === 0 ? 0 : this.retryAt - this.scheduler.now();
      return delay <= 0 ? EMPTY : timer(delay, this.scheduler).pipe(ignoreElements());
    });
  }

  /**
   * A connect of round `since` (the {@link failuresInARow} it waited behind) failed. Only the
   * first failure of a round counts: the count moves on, and the next round waits `initialDelay`
   * doubled per failure, up to `maxDelay`, with full jitter.
   */
  failed(since: number = this.failures): void {
    if (this.failures !== since) return;
    this.failures++;
    const cap = Math.min(this.policy.maxDelay, this.policy.initialDelay * 2 ** (this.failures - 1));
    this.retryAt = this.scheduler.now() + Math.round(cap * (0.5 + this.random() / 2));
  }

  succeeded(): void {
    this.failures = 0;
    this.retryAt = 0;
  }
}
