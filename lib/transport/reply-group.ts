import type { Subscriber } from 'rxjs';
import type { SmtpReply } from '../reply/reply';
import type { ReplySink } from './waiters';

/**
 * Looks at each reply of a group as it comes, with its position: throws when the command cannot
 * take it (the two sides are out of step), or says `'stop'` when no more will come (a 421, after
 * which the server closes).
 */
export type ReplyCheck = (reply: SmtpReply, at: number) => 'stop' | void;

/**
 * Where the replies to a group of commands go when they are read as one array (a pipelined
 * envelope, a message's end of data): each is checked as it comes, and the array is emitted once
 * the last has come, or once the check stopped the group. A class, as RxJS's own subscribers are:
 * one object a group, no closures.
 *
 * @example
 * ```ts
 * new Observable<SmtpReply[]>((subscriber) => conn.write(items, new ReplyGroup(subscriber, check)));
 * ```
 */
export class ReplyGroup implements ReplySink {
  private readonly replies: SmtpReply[] = [];

  constructor(
    private readonly to: Subscriber<SmtpReply[]>,
    private readonly check: ReplyCheck | undefined,
  ) {}

  next(reply: SmtpReply): void {
    if (this.to.closed) return;
    let verdict: 'stop' | void;
    try {
      verdict = this.check?.(reply, this.replies.length);
    } catch (err) {
      this.to.error(err);
      return;
    }
    this.replies.push(reply);
    if (verdict === 'stop') this.complete();
  }

  error(err: unknown): void {
    this.to.error(err);
  }

  complete(): void {
    if (this.to.closed) return;
    this.to.next(this.replies);
    this.to.complete();
  }
}
