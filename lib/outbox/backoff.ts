import { invalid } from '../errors';
import { integer } from './check';

/**
 * How transient failures are retried: `attempts` in all (the first included), the n-th retry
 * after about `delayMs × 2^(n-1)`, never more than `maxDelayMs`, each delay drawn at random from
 * its upper half so that mails refused together (a 421 burst, greylisting) do not come back together.
 *
 * @example
 * ```ts
 * const retry: RetryOptions = { attempts: 10, delayMs: 30_000, maxDelayMs: 2 * 3_600_000 };
 * ```
 */
export interface RetryOptions {
  /** Attempts in all, the first included. Default 8. */
  attempts?: number;
  /** The delay before the first retry, in ms. Default 60 000. */
  delayMs?: number;
  /** The longest delay between two attempts, in ms. Default 3 600 000. */
  maxDelayMs?: number;
}

/** {@link RetryOptions} with their defaults. */
export type ResolvedRetry = Required<RetryOptions>;

/**
 * Eight attempts: with the delays below, about four hours of trying, about what an MTA spends
 * before its first "still trying" notice, and enough to outlast any common greylisting.
 */
export const DEFAULT_ATTEMPTS = 8;
/** A minute: greylisting (RFC 6647) asks for one to five minutes; sooner is wasted on it. */
export const DEFAULT_RETRY_DELAY_MS = 60_000;
/** An hour: RFC 5321 4.5.4.1 suggests retries at least 30 minutes apart once a mail has waited. */
export const DEFAULT_MAX_RETRY_DELAY_MS = 3_600_000;
/** setTimeout's ceiling (2^31 - 1 ms), which BullMQ's delays also live under. */
const MAX_MS = 2_147_483_647;
/** More attempts than this is a loop, not a retry policy. */
const MAX_ATTEMPTS = 1000;

/** Checks {@link RetryOptions} (`EINVAL`) and fills in the defaults. */
export function resolveRetry(options: RetryOptions = {}): ResolvedRetry {
  if (options === null || typeof options !== 'object') throw invalid('retry must be { attempts, delayMs, maxDelayMs }');
  const retry = {
    attempts: integer(options.attempts ?? DEFAULT_ATTEMPTS, 'retry.attempts', 1, MAX_ATTEMPTS),
    delayMs: integer(options.delayMs ?? DEFAULT_RETRY_DELAY_MS, 'retry.delayMs', 0, MAX_MS),
    maxDelayMs: integer(options.maxDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS, 'retry.maxDelayMs', 0, MAX_MS),
  };
  if (retry.maxDelayMs < retry.delayMs) throw invalid('retry.maxDelayMs must not be below retry.delayMs');
  return retry;
}

/**
 * The delay before the retry that follows attempt `attemptsMade` (from 1): capped exponential
 * with "equal jitter" (half fixed, half random), so the delays grow as promised and still spread.
 *
 * @example
 * ```ts
 * retryDelay(1, { attempts: 8, delayMs: 60_000, maxDelayMs: 3_600_000 }); // 30 000 to 60 000
 * ```
 */
export function retryDelay(attemptsMade: number, retry: ResolvedRetry, random: () => number = Math.random): number {
  // Past 2^31 any delay of 1 ms or more is beyond every cap; bounding the exponent also keeps
  // 0 × 2^exponent from becoming 0 × Infinity = NaN for a delayMs of 0.
  const exponent = Math.min(31, Math.max(0, attemptsMade - 1));
  const ceiling = Math.min(retry.maxDelayMs, retry.delayMs * 2 ** exponent);
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}
