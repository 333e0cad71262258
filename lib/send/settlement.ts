import { Observable, ignoreElements, map, merge, takeWhile, toArray } from 'rxjs';
import { SmtpError, replyError } from '../errors';
import type { SendResult } from '../mail/mail';
import type { SmtpReply } from '../reply/reply';
import type { WriteItem } from '../transport/write-batch';
import type { TransferContext } from './context';
import type { MailTask } from './task';
import { type EnvelopeVerdict, judgeEndOfData } from './verdict';

/** RFC 5321 3.8: the server closes the connection after a 421, whatever it answered. */
const CLOSING = 421;

/**
 * What ends a mail's content on the wire, and what the replies after it are judged against.
 *
 * @example
 * ```ts
 * const end: EndOfData = { items: [{ raw: content }, { line: '.' }], verdict, bytes: 42 };
 * ```
 */
export interface EndOfData {
  /** The end of data itself: `.` after the content, or `BDAT n LAST` with the last chunk; and LMTP's extra replies. */
  items: WriteItem[];
  verdict: EnvelopeVerdict;
  /** Octets of content (CRLF-normalised, before dot-stuffing), for the result. */
  bytes: number;
  /** Replies to the BDAT chunks written before (a streamed body), read before the end of data's. */
  chunks?: { replies$: Observable<SmtpReply>; count: number };
}

/**
 * Writes a mail's end of data and settles the mail from the replies: subscribing writes, and from
 * that moment the mail is uncertain until its reply comes. A 421 among them fails the mail (the
 * server refused it before closing) and then ends the session with that 421.
 *
 * @example
 * ```ts
 * endOfData$(ctx, task, { items: [{ raw: data }, { line: '.' }], verdict, bytes }).subscribe({ error: endSession });
 * ```
 */
export function endOfData$(ctx: TransferContext, task: MailTask, end: EndOfData): Observable<never> {
  return new Observable<never>((subscriber) => {
    if (ctx.conn.isClosed) return subscriber.error(ctx.conn.closedError());
    const chunks = end.chunks?.count ?? 0;
    let answered = false;
    const settle = (replies: SmtpReply[]): void => {
      answered = true;
      ctx.unansweredEndOfData--;
      const last = replies[replies.length - 1]!;
      try {
        task.settle(judgeEndOfData(end.verdict, replies, { lmtp: ctx.settings.lmtp, bytes: end.bytes, chunks }));
      } catch (err) {
        // A code the end of data cannot take: out of step.
        subscriber.error(err);
        return;
      }
      if (last.code === CLOSING) subscriber.error(replyError(last, 'end of data'));
      else subscriber.complete();
    };
    // A 421 ends the replies there: the server closes, the rest would never come.
    const stopAtClosing = (reply: SmtpReply): 'stop' | void => (reply.code === CLOSING ? 'stop' : undefined);
    const replies$ =
      end.chunks === undefined
        ? ctx.conn.exchange(end.items, stopAtClosing)
        : // The replies to the BDAT chunks written before (they come first), then those to the end.
          merge(end.chunks.replies$, ctx.conn.send(end.items)).pipe(takeWhile((reply) => reply.code !== CLOSING, true), toArray());
    // Subscribing writes: the stage and whether the bytes left are taken after it.
    const subscription = replies$.subscribe({ next: settle, error: (err: unknown) => subscriber.error(err) });
    task.stage = 'sent';
    task.endOfDataLeft = ctx.conn.leftCheck();
    ctx.unansweredEndOfData++;
    return () => {
      subscription.unsubscribe();
      if (!answered) ctx.unansweredEndOfData--;
    };
  });
}

/**
 * Writes RSET and checks its 250: anything else means the two sides are out of step (`ESERVERSYNC`,
 * which ends the session). Subscribing writes.
 *
 * @example
 * ```ts
 * concat(reset$(ctx.conn), nextTransaction$);
 * ```
 */
export function reset$(ctx: Pick<TransferContext, 'conn'>): Observable<never> {
  return ctx.conn.request({ line: 'RSET' }).pipe(
    map((reply) => {
      if (reply.code !== 250) throw new SmtpError('ESERVERSYNC', `RSET was answered ${reply.code}`, { reply, command: 'RSET' });
    }),
    ignoreElements(),
  );
}

/**
 * A mail failed on a connection that lives on: RSET is written first, so that the session is back
 * in a clean state before the next transaction whatever the caller does on hearing of the failure
 * (unsubscribing at once included), then the failure is told. Subscribing writes.
 *
 * @example
 * ```ts
 * failed$(ctx, task, error); // RSET, then the mail's failed outcome, then RSET's 250 is checked
 * ```
 */
export function failed$(ctx: TransferContext, task: MailTask, error: SmtpError, rejected: SendResult['rejected'] = []): Observable<never> {
  return new Observable<never>((subscriber) => {
    const subscription = reset$(ctx).subscribe(subscriber);
    task.settle(rejected.length === 0 ? { ok: false, error } : { ok: false, error, rejected });
    return subscription;
  });
}
