import { type Observable, catchError, concatMap, defer, map, of, throwError } from 'rxjs';
import { BodyStopped, writeBody$ } from '../body-writer';
import type { TransferContext } from '../context';
import { envelope$ } from '../envelope';
import { endOfData$, failed$ } from '../settlement';
import type { MailTask } from '../task';
import { type EnvelopeVerdict, judgeEnvelope } from '../verdict';
import { cancelledError, lmtpReplies } from './common';

/**
 * One mail with BDAT (RFC 3030), envelope first: MAIL and each RCPT (in one write when pipelining),
 * then, once they are answered, the content as `BDAT n` chunks (a streamed body) and `BDAT n LAST`.
 * For what the window cannot take: streamed bodies, LMTP (how many replies follow `BDAT LAST`
 * depends on the RCPT replies), a server without PIPELINING. Emits the mail's settlement.
 *
 * A body that fails or a caller that cancels between chunks costs nothing but an RSET: unlike
 * DATA, BDAT can be abandoned mid-content (RFC 3030 4.1).
 *
 * @example
 * ```ts
 * bdatTransaction(ctx, task).pipe(mergeMap((settlement$) => settlement$));
 * ```
 */
export function bdatTransaction(ctx: TransferContext, task: MailTask): Observable<Observable<never>> {
  return envelope$(ctx, task, false).pipe(
    concatMap((replies) => {
      const verdict = judgeEnvelope(task.envelope!, replies);
      if (verdict.failure !== undefined) return of(failed$(ctx, task, verdict.failure, verdict.rejected));
      if (task.cancelled) return of(failed$(ctx, task, cancelledError()));
      return content(ctx, task, verdict);
    }),
  );
}

function content(ctx: TransferContext, task: MailTask, verdict: EnvelopeVerdict): Observable<Observable<never>> {
  const body = task.envelope!.body;
  const extra = lmtpReplies(ctx, verdict);
  if (body.kind === 'memory') {
    const items = [{ line: `BDAT ${body.data.length} LAST` }, { raw: body.data }, ...extra];
    return of(endOfData$(ctx, task, { items, verdict, bytes: body.contentBytes }));
  }
  return defer(() => writeBody$(ctx, task, body.chunks, true)).pipe(
    map((written) => {
      const items = [{ line: `BDAT ${written.tail.length} LAST` }, { raw: written.tail }, ...extra];
      return endOfData$(ctx, task, { items, verdict, bytes: written.bytes, ...(written.chunks && { chunks: written.chunks }) });
    }),
    catchError((err: unknown) => (err instanceof BodyStopped ? of(failed$(ctx, task, err.error)) : throwError(() => err))),
  );
}
