import { type MonoTypeOperatorFunction, NEVER, type Observable, type SchedulerLike, throwError, timeout } from 'rxjs';
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
 * connection starts one when a command starts waiting, and a fresh one each time a reply makes
 * another command the oldest, dropping it once none waits: so the oldest unanswered command gets
 * `ms` from the moment it became the oldest, each pipelined command gets the full time, and a server
 * trickling a reply line by line cannot extend it (only a whole reply counts). Idle, nothing runs.
 * Errors with `error()`; never emits.
 *
 * @example
 * ```ts
 * deadline = replyDeadline(60_000, asyncScheduler, () => conn.replyTimedOut()).subscribe({ error: fail });
 * ```
 */
export function replyDeadline(ms: number, scheduler: SchedulerLike, error: () => SmtpError): Observable<never> {
  return NEVER.pipe(within<never>(ms, scheduler, error));
}
