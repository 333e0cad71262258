import { EMPTY, Observable, defer, finalize, ignoreElements, map, merge, share, takeWhile, throwError, toArray } from 'rxjs';
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
  return defer(() => {
    if (ctx.conn.isClosed) return throwError(() => ctx.conn.closedError());
    const eod$ = ctx.conn.send(end.items).pipe(share());
    const written = eod$.subscribe({ error: () => undefined });
    task.stage = 'sent';
    task.endOfDataLeft = ctx.conn.leftCheck();
    ctx.unansweredEndOfData++;
    let answered = false;
    const settle = (replies: SmtpReply[]): void => {
      answered = true;
      ctx.unansweredEndOfData--;
      const last = replies[replies.length - 1]!;
      task.settle(judgeEndOfData(end.verdict, replies, { lmtp: ctx.settings.lmtp, bytes: end.bytes, chunks: end.chunks?.count ?? 0 }));
      if (last.code === CLOSING) throw replyError(last, 'end of data');
    };
    return merge(end.chunks?.replies$ ?? EMPTY, eod$).pipe(
      takeWhile((reply) => reply.code !== CLOSING, true),
      toArray(),
      map(settle),
      ignoreElements(),
      finalize(() => {
        written.unsubscribe();
        if (!answered) ctx.unansweredEndOfData--;
      }),
    );
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
