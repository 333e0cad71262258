import { EMPTY, Observable, type Subscription, catchError, ignoreElements, map, merge, of, throwError } from 'rxjs';
import { SmtpError } from '../../errors';
import type { SmtpReply } from '../../reply/reply';
import { BodyStopped, writeBody$ } from '../body-writer';
import type { TransferContext } from '../context';
import { envelope$ } from '../envelope';
import { endOfData$, failed$ } from '../settlement';
import type { MailTask } from '../task';
import { type EnvelopeVerdict, judgeEnvelope, judgeReply } from '../verdict';
import { cancelledError, lmtpReplies } from './common';

/** RFC 5321 4.1.4: "bad sequence of commands", what a server answers to a command it will not take now. */
const BAD_SEQUENCE = 503;

/**
 * One mail with DATA: MAIL, each RCPT and DATA (in one write when pipelining), then, on 354, the
 * content and the end of data. Emits the mail's settlement (what reads its end-of-data reply, or
 * writes RSET after a failure) for the sender to run; the sender moves on to the next mail as soon
 * as it has, so that the next envelope leaves with this end of data.
 *
 * A server that refuses commands pipelined behind an end of data (Haraka 3.3.4 answers 503 to the
 * next MAIL) never considered the mail: it goes back to be sent again, the sender no longer
 * pipelines across mails on this connection, and nothing is reported.
 *
 * @example
 * ```ts
 * dataTransaction(ctx, task).pipe(mergeMap((settlement$) => settlement$));
 * ```
 */
export function dataTransaction(ctx: TransferContext, task: MailTask): Observable<Observable<never>> {
  return new Observable<Observable<never>>((subscriber) => {
    const behindEndOfData = ctx.unansweredEndOfData > 0;
    const written = { data: false };
    // Once DATA is written, a cancel can only close the connection (an RSET could be read as content).
    // Before DATA a cancel needs nothing here: the envelope stops, then RSET.
    const cancel = task.ledger.cancelled$.subscribe(() => written.data && subscriber.error(cannotAbortData()));
    // The envelope's replies come once: what follows them is subscribed in their place (a concatMap without its operator).
    let after: Subscription | undefined;
    const envelope = envelope$(ctx, task, true, written).subscribe({
      next: (replies) => {
        cancel.unsubscribe();
        after = afterEnvelope(ctx, task, replies, behindEndOfData).subscribe(subscriber);
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => after === undefined && subscriber.complete(),
    });
    return () => {
      cancel.unsubscribe();
      envelope.unsubscribe();
      after?.unsubscribe();
    };
  });
}

function afterEnvelope(ctx: TransferContext, task: MailTask, replies: SmtpReply[], behindEndOfData: boolean): Observable<Observable<never>> {
  const envelope = task.envelope!;
  const rcptCount = envelope.rcptTo.length;
  const dataReply = replies.length === rcptCount + 2 ? replies[rcptCount + 1] : undefined;
  if (behindEndOfData && replies[0]!.code === BAD_SEQUENCE && !task.resent) return sendAgain(ctx, task, dataReply);
  const verdict = judgeEnvelope(envelope, replies.slice(0, rcptCount + 1));
  const dataFailure = dataReply === undefined ? undefined : judgeReply(dataReply, [354], 'DATA');
  if (dataReply?.code === 354) {
    // Inside DATA nothing but "." ends the content, and a "." would deliver what was written.
    if (task.cancelled) return throwError(() => cannotAbortData());
    if (verdict.failure === undefined) return content(ctx, task, verdict);
    // RFC 2920 3.1: DATA accepted although no recipient was; end it with an empty message, which no one gets.
    return of(merge(endEmptyData$(ctx), failed$(ctx, task, verdict.failure, verdict.rejected)));
  }
  return of(failed$(ctx, task, task.cancelled ? cancelledError() : (verdict.failure ?? dataFailure!), verdict.rejected));
}

/** Writes the content after the 354 (at once in memory, streamed with backpressure otherwise), then emits the end of data's settlement. */
function content(ctx: TransferContext, task: MailTask, verdict: EnvelopeVerdict): Observable<Observable<never>> {
  const body = task.envelope!.body;
  const extra = lmtpReplies(ctx, verdict);
  if (body.kind === 'memory') {
    return of(endOfData$(ctx, task, { items: [{ raw: body.data }, { line: '.' }, ...extra], verdict, bytes: body.contentBytes }));
  }
  return writeBody$(ctx, task, body.chunks, false).pipe(
    map((written) => endOfData$(ctx, task, { items: [{ raw: written.tail }, { line: '.' }, ...extra], verdict, bytes: written.bytes })),
    catchError((err: unknown) => {
      if (!(err instanceof BodyStopped)) return throwError(() => err);
      // Inside DATA only closing the connection stops the message: a "." would deliver it truncated.
      if (err.why === 'failed') task.settle({ ok: false, error: err.error });
      const closing = err.why === 'failed' ? new SmtpError('EIO', `the connection was closed: ${err.error.message}, inside DATA`, { cause: err.error }) : cannotAbortData();
      return throwError(() => closing);
    }),
  );
}

/** The mail goes back to be sent once the end of data before it is answered. */
function sendAgain(ctx: TransferContext, task: MailTask, dataReply: SmtpReply | undefined): Observable<Observable<never>> {
  ctx.downgrade();
  task.resent = true;
  task.stage = 'queued';
  ctx.source.putBack(task);
  return dataReply?.code === 354 ? of(endEmptyData$(ctx)) : EMPTY;
}

/** Ends a DATA that the server took although the transaction had failed: "." and its reply, whatever it is. */
function endEmptyData$(ctx: TransferContext): Observable<never> {
  return ctx.conn.request({ line: '.' }).pipe(ignoreElements());
}

function cannotAbortData(): SmtpError {
  return new SmtpError('ECANCELED', 'the connection was closed to cancel a mail inside DATA, which nothing else can end without delivering it');
}
