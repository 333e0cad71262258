import { EMPTY, Observable, type Subscription, map } from 'rxjs';
import { SmtpError, replyError } from '../../errors';
import type { SmtpReply } from '../../reply/reply';
import type { TransferContext } from '../context';
import { failed$ } from '../settlement';
import type { MailTask } from '../task';
import { judgeEndOfData, judgeEnvelope } from '../verdict';

/** RFC 5321 3.8: the server closes the connection after a 421. */
const CLOSING = 421;

/**
 * One mail written whole, under CHUNKING and PIPELINING, without waiting for any reply: MAIL, each
 * RCPT, `BDAT n LAST` and the content in one write, once the window has room for it. A run of mails
 * then costs one round trip per window rather than per mail. Emits the mail's settlement, which
 * writes it; from then on the mail is uncertain until its replies come.
 *
 * Written behind another mail still unanswered, it starts with RSET: if that mail's envelope failed,
 * the server's state after its refused `BDAT LAST` is its own choice (RFC 3030 asks the client for
 * an RSET), and without one this MAIL could be refused as nested. A failed mail with nothing
 * written behind it writes an RSET of its own.
 *
 * @example
 * ```ts
 * wholeMail(ctx, task).pipe(mergeMap((settlement$) => settlement$));
 * ```
 */
export function wholeMail(ctx: TransferContext, task: MailTask): Observable<Observable<never>> {
  const body = task.envelope!.body as { kind: 'memory'; data: Buffer; contentBytes: number };
  return ctx.window!.room$(body.data.length).pipe(map(() => written$(ctx, task, body)));
}

function written$(ctx: TransferContext, task: MailTask, body: { data: Buffer; contentBytes: number }): Observable<never> {
  return new Observable<never>((subscriber) => {
    if (ctx.conn.isClosed) return subscriber.error(ctx.conn.closedError());
    const envelope = task.envelope!;
    const window = ctx.window!;
    const reset = window.inFlight.mails > 0;
    const commands = [...(reset ? ['RSET'] : []), 'MAIL FROM', ...envelope.rcptTo.map(() => 'RCPT TO'), 'BDAT'];
    const check = (reply: SmtpReply, at: number): 'stop' | void => {
      // Checked as it comes: an RSET refused means the two sides are out of step, whatever follows.
      if (reset && at === 0 && reply.code !== 250) throw new SmtpError('ESERVERSYNC', `RSET was answered ${reply.code}`, { reply, command: 'RSET' });
      // A 421: the server closes, the rest will never come.
      if (reply.code === CLOSING) return 'stop';
    };
    let after: Subscription | undefined;
    const onReplies = (replies: SmtpReply[]): void => {
      const last = replies[replies.length - 1]!;
      if (last.code === CLOSING) {
        // The server refused the mail before closing: failed, not uncertain; then the session ends.
        const error = replyError(last, commands[replies.length - 1]);
        task.settle({ ok: false, error });
        subscriber.error(error);
        return;
      }
      if (reset) replies.shift();
      try {
        after = settle(ctx, task, replies, body.contentBytes, ctx.transactions === writtenAs).subscribe(subscriber);
      } catch (err) {
        // A code a command cannot take: out of step.
        subscriber.error(err);
      }
    };
    const items = [
      ...(reset ? [{ line: 'RSET' }] : []),
      { line: envelope.mailFrom },
      ...envelope.rcptTo.map((line) => ({ line })),
      { line: `BDAT ${body.data.length} LAST` },
      { raw: body.data },
    ];
    // Subscribing writes: the stage and whether the bytes left are taken after it.
    const replies = ctx.conn.exchange(items, check).subscribe({ next: onReplies, error: (err: unknown) => subscriber.error(err) });
    task.stage = 'sent';
    task.endOfDataLeft = ctx.conn.leftCheck();
    window.add(body.data.length);
    ctx.unansweredEndOfData++;
    const writtenAs = ++ctx.transactions;
    return () => {
      replies.unsubscribe();
      after?.unsubscribe();
      window.remove(body.data.length);
      ctx.unansweredEndOfData--;
    };
  });
}

/** The fate from MAIL, each RCPT and `BDAT LAST`; a failure with nothing behind it resets the transaction first. */
function settle(ctx: TransferContext, task: MailTask, replies: SmtpReply[], bytes: number, lastWritten: boolean): Observable<never> {
  const envelope = task.envelope!;
  const verdict = judgeEnvelope(envelope, replies.slice(0, envelope.rcptTo.length + 1));
  const fate = verdict.failure === undefined ? judgeEndOfData(verdict, replies.slice(envelope.rcptTo.length + 1), { lmtp: false, bytes, chunks: 0 }) : undefined;
  const error = verdict.failure ?? (fate?.ok === false ? fate.error : undefined);
  if (error === undefined) {
    task.settle(fate!);
    return EMPTY;
  }
  const rejected = verdict.failure === undefined ? [] : verdict.rejected;
  if (lastWritten) return failed$(ctx, task, error, rejected);
  task.settle(rejected.length === 0 ? { ok: false, error } : { ok: false, error, rejected });
  return EMPTY;
}
