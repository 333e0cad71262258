import { type MonoTypeOperatorFunction, NEVER, type Observable, type SchedulerLike, defer, throwError, timeout } from 'rxjs';
import type { SmtpError } from '../errors';

/**
 * The deadline of a one-off wait (the TCP connect, the TLS handshake, a full socket buffer draining):
 * RxJS's `timeout`, erroring with `error()` (an `ETIMEDOUT`) when the source has not emitted
 * within `ms` on `scheduler`.
 *
 * @example
 * ```ts
 * fromEvent(socket, 'connect').pipe(take(1), within(60_000, asyncScheduler, () => new SmtpError('ETIMEDOUT', 'connect')));
 * ```
 */
export function within<T>(ms: number, scheduler: SchedulerLike, error: () => SmtpError): MonoTypeOperatorFunction<T> {
  return timeout<T, Observable<never>>({ first: ms, with: () => throwError(error), scheduler });
}

/**
 * The reply deadline of a connection: RxJS's `timeout` over a wait that only a reply ends. The
 * oldest unanswered command gets `ms` from the moment it became the oldest (`since()`, on the
 * scheduler's clock): so each pipelined command gets the full time, and a server trickling a reply
 * line by line cannot extend it (only a whole reply moves `since`). When the timeout fires and the
 * head has moved meanwhile, it runs on for what is left of the new head's time; otherwise it errors
 * with `error()`. The connection holds one while any command waits, none while idle. Never emits.
 *
 * @example
 * ```ts
 * deadline = replyDeadline(60_000, asyncScheduler, () => headSince, () => conn.replyTimedOut()).subscribe({ error: fail });
 * ```
 */
export function replyDeadline(ms: number, scheduler: SchedulerLike, since: () => number, error: () => SmtpError): Observable<never> {
  return defer(() => {
    const left = since() + ms - scheduler.now();
    return NEVER.pipe(timeout<never, Observable<never>>({ first: Math.max(left, 0), with: () => (since() + ms - scheduler.now() > 0 ? replyDeadline(ms, scheduler, since, error) : throwError(error)), scheduler }));
  });
}
