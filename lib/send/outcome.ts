import type { SendOutcome, SendResult } from '../mail/mail';

/**
 * A mail's outcome as `send()` gives it, on a session or a pool: the result, or the error thrown.
 *
 * @example
 * ```ts
 * session.sendAll([mail]).pipe(map(resultOf));
 * ```
 */
export function resultOf(outcome: SendOutcome): SendResult {
  if (!outcome.ok) throw outcome.error;
  return outcome.result;
}
