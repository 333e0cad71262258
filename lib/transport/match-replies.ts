import { Observable, type Observer, type OperatorFunction, type Subscriber } from 'rxjs';
import { SmtpError, replyError } from '../errors';
import { type SmtpReply, formatReply } from '../reply/reply';
import { sanitize } from '../reply/sanitize';
import type { ReplyBudget, Waiter, WaiterQueue } from './waiters';

/** A reply and the command it answers; `waiter` is undefined for a reply to nothing (the stream then errors). */
export interface Answer {
  readonly reply: SmtpReply;
  readonly waiter: Waiter | undefined;
}

/**
 * Pairs each reply with the oldest waiting command (RFC 5321 4.1.1: replies come strictly in order,
 * RFC 2920 3.1 for pipelined groups), taking it off `waiting`. A reply that answers nothing is
 * emitted with no waiter and then ends the stream: `ESERVERTEMP` for a 421 (RFC 5321 3.8: the server
 * announcing it closes), `ESERVERSYNC` otherwise.
 *
 * Bytes can only answer commands written before they arrived: a reply past those in the same chunk
 * answers nothing, even when an earlier reply of that chunk made the client write a command (else
 * `220 hi\r\n250 x\r\n` would hand the client a fake EHLO reply before it sent EHLO).
 *
 * @example
 * ```ts
 * replies$.pipe(matchReplies(waiting, budget)).subscribe(({ reply, waiter }) => waiter?.to.next(reply));
 * ```
 */
export function matchReplies(waiting: WaiterQueue, budget: ReplyBudget): OperatorFunction<SmtpReply, Answer> {
  return (source) => new Observable<Answer>((subscriber) => source.subscribe(new Matcher(subscriber, waiting, budget)));
}

/** What `matchReplies` subscribes to its source with: a class, since a connection holds one for as long as it lives. */
class Matcher implements Observer<SmtpReply> {
  constructor(
    private readonly to: Subscriber<Answer>,
    private readonly waiting: WaiterQueue,
    private readonly budget: ReplyBudget,
  ) {}

  next(reply: SmtpReply): void {
    const waiter = this.budget.owed-- > 0 ? this.waiting.shift() : undefined;
    this.to.next({ reply, waiter });
    if (waiter === undefined) this.to.error(unasked(reply));
  }

  error(err: unknown): void {
    this.to.error(err);
  }

  complete(): void {
    this.to.complete();
  }
}

function unasked(reply: SmtpReply): SmtpError {
  if (reply.code === 421) return replyError(reply, undefined);
  return new SmtpError('ESERVERSYNC', `reply to no command: ${sanitize(formatReply(reply).join(' | '))}`, { reply });
}
