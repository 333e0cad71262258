import {
  EMPTY,
  type MonoTypeOperatorFunction,
  type Observable,
  type SchedulerLike,
  ignoreElements,
  switchMap,
  throwError,
  timeout,
} from 'rxjs';
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
 * The reply deadline of a connection. While `busy$` says a command waits for its reply, each reply
 * must come within `ms` of the one before it, or of the moment the connection became busy: that is,
 * the oldest unanswered command gets `ms` from the moment it became the oldest, so each pipelined
 * command gets the full time, and a server trickling a reply line by line cannot extend it (only a
 * whole reply counts). Idle, nothing runs. Errors with `error()`; never emits.
 *
 * @example
 * ```ts
 * replyDeadline(busy$, replies$, 60_000, asyncScheduler, () => conn.replyTimedOut()).subscribe({ error: fail });
 * ```
 */
export function replyDeadline(
  busy$: Observable<boolean>,
  replies$: Observable<unknown>,
  ms: number,
  scheduler: SchedulerLike,
  error: () => SmtpError,
): Observable<never> {
  return busy$.pipe(
    switchMap((busy) => (busy ? replies$.pipe(timeout({ each: ms, with: () => throwError(error), scheduler }), ignoreElements()) : EMPTY)),
  );
}
