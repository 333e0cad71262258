import { type MonoTypeOperatorFunction, NEVER, type Observable, type SchedulerLike, type Subscription, throwError, timeout } from 'rxjs';
import type { SmtpError } from '../errors';
import { replyTimeoutError } from './connection-errors';

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
 * What a {@link replyDeadline} asks of its owner: when the oldest waiting command became the oldest
 * (on the scheduler's clock), and the error to end with.
 *
 * @example
 * ```ts
 * const head: DeadlineHead = { since: () => headSince, timedOut: () => new SmtpError('ETIMEDOUT', 'no reply') };
 * ```
 */
export interface DeadlineHead {
  since(): number;
  timedOut(): SmtpError;
}

/**
 * The reply deadline of a connection: RxJS's `timeout` over a wait that only a reply ends. The
 * oldest unanswered command gets `ms` from the moment it became the oldest (`since()`, on the
 * scheduler's clock): so each pipelined command gets the full time, and a server trickling a reply
 * line by line cannot extend it (only a whole reply moves `since`). When the timeout fires and the
 * head has moved meanwhile, it runs on for what is left of the new head's time; otherwise it errors
 * with `head.timedOut()`. Its time is counted from when it is made (subscribe it at once: a
 * {@link ReplyClock} makes one each time a wait starts, without a `defer` around it). Never emits.
 *
 * @example
 * ```ts
 * deadline = replyDeadline(60_000, asyncScheduler, { since: () => headSince, timedOut: () => conn.replyTimedOut() }).subscribe({ error: fail });
 * ```
 */
export function replyDeadline(ms: number, scheduler: SchedulerLike, head: DeadlineHead): Observable<never> {
  const left = head.since() + ms - scheduler.now();
  return NEVER.pipe(
    timeout<never, Observable<never>>({
      first: Math.max(left, 0),
      with: () => (head.since() + ms - scheduler.now() > 0 ? replyDeadline(ms, scheduler, head) : throwError(() => head.timedOut())),
      scheduler,
    }),
  );
}

/**
 * A connection's reply deadline over time: one {@link replyDeadline} while any command waits, none
 * while none does. A reply only moves the oldest command's start; the running deadline, when it
 * fires, runs on for what is left of the new oldest's time (four replies of a pipelined message
 * would otherwise cost four timers). It is the deadline's head and its observer itself, and holds
 * no closure: a connection lives as long as its session, thousands of them idle at once.
 *
 * @example
 * ```ts
 * const clock = new ReplyClock(60_000, asyncScheduler, waiting, conn);
 * clock.update(waiting.length > 0, true); // after a reply
 * ```
 */
export class ReplyClock implements DeadlineHead {
  private busy = false;
  private deadline: Subscription | undefined;
  /** When the oldest waiting command became the oldest, on the scheduler's clock. */
  private headSince = 0;

  constructor(
    private readonly ms: number,
    private readonly scheduler: SchedulerLike,
    /** The waiting commands: the oldest is named in the error. */
    private readonly waiting: { readonly oldest: { readonly command: string | undefined } | undefined },
    /** Told when the deadline passes. */
    private readonly owner: { fail(error: SmtpError): void },
  ) {}

  since(): number {
    return this.headSince;
  }

  timedOut(): SmtpError {
    return replyTimeoutError(this.waiting.oldest?.command, this.ms);
  }

  /** `busy`: some command waits; `answered`: a reply just came, so the oldest waiting command changed. */
  update(busy: boolean, answered: boolean): void {
    if (busy && (answered || !this.busy)) this.headSince = this.scheduler.now();
    if (busy === this.busy) return;
    this.busy = busy;
    this.deadline?.unsubscribe();
    this.deadline = busy ? replyDeadline(this.ms, this.scheduler, this).subscribe(this) : undefined;
  }

  /** The deadline passed (as the deadline's observer). */
  error(err: SmtpError): void {
    this.owner.fail(err);
  }
}
