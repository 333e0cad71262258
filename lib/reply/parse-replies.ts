import { Observable, type Observer, type OperatorFunction, type Subscriber } from 'rxjs';
import { SmtpError } from '../errors';
import { type SmtpReply, formatReply } from './reply';
import { ReplyParser, resolveReplyLimits, type ReplyLimits } from './reply-parser';
import { sanitize } from './sanitize';

/**
 * Options of {@link parseReplies}: the parser's bounds (each defaults to its `DEFAULT_MAX_*`
 * constant in `reply-parser`), and which reply, if any, ends the stream.
 *
 * @example
 * ```ts
 * const options: ParseRepliesOptions = { maxLineLength: 1000 };
 * ```
 */
export interface ParseRepliesOptions extends Partial<ReplyLimits> {
  /**
   * Asked of each reply: true makes it the last one this stream may carry (the 220 to STARTTLS,
   * after which the server's next byte must open TLS). That reply is emitted only once the chunk it
   * came in has been read to its end, and the result then completes; any byte after it in the same
   * chunk, a whole reply or part of one, is an `ESERVERSYNC` error instead (RFC 3207 5: response
   * injection), and the reply itself is never emitted.
   */
  last?: (reply: SmtpReply) => boolean;
}

/**
 * Turns a stream of socket chunks into a stream of SMTP replies, each emitted as soon as its last
 * line arrives. Every subscription gets its own parser.
 *
 * A malformed or oversized reply becomes an `ESERVERSYNC` error notification (after any reply that
 * the same chunk completed before it) and the source is unsubscribed. When the source completes
 * while part of a reply is held, the result just completes: what a close means is the caller's call.
 *
 * @throws SmtpError `EINVAL` at once when a limit is not a positive integer.
 * @example
 * ```ts
 * const replies$ = socketData$.pipe(parseReplies({ maxLines: 64 }));
 * replies$.subscribe((reply) => console.log(reply.code, reply.lines));
 * ```
 */
export function parseReplies(options: ParseRepliesOptions = {}): OperatorFunction<Uint8Array, SmtpReply> {
  // Resolved here so that bad options fail when the pipeline is built, not on first subscription.
  const limits = resolveReplyLimits(options);
  const isLast = options.last;
  return (source) => new Observable<SmtpReply>((subscriber) => source.subscribe(new ReplyReader(subscriber, limits, isLast)));
}

/**
 * One subscription's parser: what `parseReplies` subscribes to its source with. A class rather than
 * closures, because a connection holds one for as long as it lives, thousands of them idle at once.
 */
class ReplyReader implements Observer<Uint8Array> {
  private readonly parser: ReplyParser;
  /** The last reply, held until its chunk has been read to the end. */
  private last: SmtpReply | undefined;
  private readonly onReply: (reply: SmtpReply) => void;

  constructor(
    private readonly to: Subscriber<SmtpReply>,
    limits: ReplyLimits,
    private readonly isLast: ((reply: SmtpReply) => boolean) | undefined,
  ) {
    this.parser = new ReplyParser(limits);
    this.onReply = (reply) => {
      if (this.last !== undefined) throw injected(this.last);
      if (this.isLast?.(reply) === true) this.last = reply;
      else this.to.next(reply);
    };
  }

  next(chunk: Uint8Array): void {
    // A synchronous source may go on emitting after the error, before its subscription exists.
    if (this.to.closed) return;
    try {
      this.parser.feed(chunk, this.onReply);
      const last = this.last;
      if (last === undefined) return;
      if (!this.parser.idle) throw injected(last);
      this.to.next(last);
      this.to.complete();
    } catch (err) {
      this.to.error(err);
    }
  }

  error(err: unknown): void {
    this.to.error(err);
  }

  complete(): void {
    this.to.complete();
  }
}

function injected(last: SmtpReply): SmtpError {
  const text = sanitize(formatReply(last).join(' | '), 80);
  return new SmtpError('ESERVERSYNC', `bytes after "${text}", the last reply this stream may carry: response injection refused`, { reply: last });
}
