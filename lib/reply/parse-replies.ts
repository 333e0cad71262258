import { Observable, type OperatorFunction } from 'rxjs';
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
  return (source) =>
    new Observable<SmtpReply>((subscriber) => {
      const parser = new ReplyParser(limits);
      // The last reply, held until its chunk has been read to the end.
      let last: SmtpReply | undefined;
      const onReply = (reply: SmtpReply): void => {
        if (last !== undefined) throw injected(last);
        if (isLast?.(reply) === true) last = reply;
        else subscriber.next(reply);
      };
      return source.subscribe({
        next: (chunk) => {
          // A synchronous source may go on emitting after the error, before its subscription exists.
          if (subscriber.closed) return;
          try {
            parser.feed(chunk, onReply);
            if (last === undefined) return;
            if (!parser.idle) throw injected(last);
            subscriber.next(last);
            subscriber.complete();
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}

function injected(last: SmtpReply): SmtpError {
  const text = sanitize(formatReply(last).join(' | '), 80);
  return new SmtpError('ESERVERSYNC', `bytes after "${text}", the last reply this stream may carry: response injection refused`, { reply: last });
}
