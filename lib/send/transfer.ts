import { EMPTY, type Observable, catchError, concatMap, defer, endWith, from, ignoreElements, mergeMap, of, repeat, take } from 'rxjs';
import { SmtpError, asSmtpError } from '../errors';
import { prepareEnvelope } from '../mail/envelope';
import type { TransferContext } from './context';
import { bdatTransaction } from './strategies/bdat';
import { dataTransaction } from './strategies/data';
import { wholeMail } from './strategies/whole';
import type { MailTask } from './task';

/** A transaction strategy: writes one mail, emitting its settlements (what reads its last replies). */
type Strategy = (ctx: TransferContext, task: MailTask) => Observable<Observable<never>>;

/**
 * Sends the mails of the session's queue on one connection, one transaction after another, until
 * the calls at the head of the queue have no more; completes once every mail it wrote has its fate.
 * Each mail goes by the strategy the server and the mail allow — written whole into the CHUNKING
 * window, BDAT after its envelope, or DATA — and as soon as a transaction has written its end of
 * data the next one starts (when pipelining across mails), so that the next envelope leaves in the
 * same segment while the settlements read the replies side by side, in order. Without that kind of
 * pipelining each mail waits for its last reply.
 *
 * Errors when the connection fails (or the two sides fall out of step); the calls' ledgers then
 * account for every mail by where it stood.
 *
 * @example
 * ```ts
 * transfer$(ctx).subscribe({ complete: () => console.log('queue drained'), error: closeSession });
 * ```
 */
export function transfer$(ctx: TransferContext): Observable<never> {
  let found: 'task' | 'wait' | 'done' = 'task';
  const step$ = defer(() => {
    for (;;) {
      const next = ctx.source.take();
      if (typeof next === 'string') {
        found = next;
        return EMPTY;
      }
      found = 'task';
      if (next.cancelled || !prepared(ctx, next)) continue;
      return transaction$(ctx, next);
    }
  });
  return step$.pipe(
    repeat({ delay: () => (found === 'done' ? EMPTY : found === 'wait' ? ctx.source.changed$.pipe(take(1)) : of(undefined)) }),
    mergeMap((settlement$) => settlement$),
  );
}

/** Checks the mail against the server's extensions; a mail that cannot be sent as it is fails now, with nothing written. */
function prepared(ctx: TransferContext, task: MailTask): boolean {
  if (task.envelope !== undefined) return true;
  try {
    task.envelope = prepareEnvelope(task.mail, { capabilities: ctx.capabilities, chunking: ctx.settings.chunking });
    return true;
  } catch (err) {
    task.settle({ ok: false, error: asSmtpError(err) });
    return false;
  }
}

/** The caller's hook first, then the mail by its strategy; inline settlements unless pipelining across mails. */
function transaction$(ctx: TransferContext, task: MailTask): Observable<Observable<never>> {
  const hook = task.ledger.hooks.beforeEndOfData;
  const run$ =
    hook === undefined || task.resent
      ? strategyFor(ctx, task)(ctx, task)
      : from(defer(() => hook(task.mail, task.index))).pipe(
          ignoreElements(),
          endWith(undefined),
          catchError((err: unknown) => {
            task.settle({ ok: false, error: new SmtpError('EIO', `beforeEndOfData refused the mail: ${asSmtpError(err).message}`, { cause: err }) });
            return EMPTY;
          }),
          concatMap(() => (task.cancelled ? EMPTY : strategyFor(ctx, task)(ctx, task))),
        );
  return ctx.settings.pipelining === 'across-mails' ? run$ : run$.pipe(concatMap((settlement$) => settlement$));
}

function strategyFor(ctx: TransferContext, task: MailTask): Strategy {
  const { chunking, lmtp, pipelining } = ctx.settings;
  if (!chunking) return dataTransaction;
  if (pipelining === 'across-mails' && !lmtp && task.envelope!.body.kind === 'memory') return wholeMail;
  return bdatTransaction;
}
