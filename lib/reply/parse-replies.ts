import { Observable, type OperatorFunction } from 'rxjs';
import type { SmtpReply } from './reply';
import { ReplyParser, resolveReplyLimits, type ReplyLimits } from './reply-parser';

/**
 * Bounds for {@link parseReplies}; each defaults to its `DEFAULT_MAX_*` constant in `reply-parser`.
 *
 * @example
 * ```ts
 * const options: ParseRepliesOptions = { maxLineLength: 1000 };
 * ```
 */
export type ParseRepliesOptions = Partial<ReplyLimits>;

/**
 * Turns a stream of socket chunks into a stream of SMTP replies, each emitted as soon as its last
 * line arrives. Every subscription gets its own parser.
 *
 * A malformed or oversized reply becomes an `ESERVERSYNC` error notification (after any reply that
 * the same chunk completed before it) and the source is unsubscribed. When the source completes
 * while part of a reply is held, the result just completes: what a close means is the session's call.
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
  return (source) =>
    new Observable<SmtpReply>((subscriber) => {
      const parser = new ReplyParser(limits);
      return source.subscribe({
        next: (chunk) => {
          // A synchronous source may go on emitting after the error, before its subscription exists.
          if (subscriber.closed) return;
          try {
            parser.feed(chunk, (reply) => subscriber.next(reply));
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
