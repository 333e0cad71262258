import { EMPTY, type Observable, type SchedulerLike, catchError, concatMap, distinctUntilChanged, ignoreElements, interval, map, switchMap } from 'rxjs';
import type { SessionState } from '../dialogue/transition';

/**
 * A session's keep-alive: each time its state settles into `connected`, a NOOP after `every` ms of
 * it, and again every `every` ms while it stays so; any other state stops the clock. A NOOP that
 * fails is left to the session (its connection's failure ends it); the keep-alive goes on.
 *
 * @example
 * ```ts
 * keepAlive$(session.state$, 30_000, asyncScheduler, () => session.noop()).subscribe();
 * ```
 */
export function keepAlive$(state$: Observable<SessionState>, every: number, scheduler: SchedulerLike, noop: () => Observable<unknown>): Observable<never> {
  return state$.pipe(
    map((s) => s.status === 'connected'),
    distinctUntilChanged(),
    switchMap((idle) => (idle ? interval(every, scheduler) : EMPTY)),
    concatMap(() => noop().pipe(catchError(() => EMPTY))),
    ignoreElements(),
  );
}
