import { EMPTY, Observable, type Subscriber, type Subscription, catchError, concatMap, defer, endWith, from, ignoreElements, take } from 'rxjs';
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
  return new Observable<never>((subscriber) => {
    const loop = new TransferLoop(ctx, subscriber);
    loop.next();
    return () => loop.stop();
  });
}

/**
 * The loop of {@link transfer$}, written as RxJS writes its own operators (a class that subscribes
 * with plain observers): one transaction at a time, the settlements they emit run side by side as
 * `mergeMap` would, and no Observable made per mail beyond the transaction's own. A `repeat` and a
 * `mergeMap` cost four subscriptions a mail; on a run of small mails that was a tenth of the CPU.
 */
class TransferLoop {
  /** The running transaction, or the wait for the source to have more. */
  private current: Subscription | undefined;
  private readonly settlements = new Set<Subscription>();
  private sourceDone = false;
  /** Set while `next()` runs, so that a transaction completing at once loops instead of recursing. */
  private looping = false;
  private again = false;

  constructor(
    private readonly ctx: TransferContext,
    private readonly out: Subscriber<never>,
  ) {}

  /** Starts the next transaction, or waits for one, or completes once the queue is done and every settlement has run. */
  next(): void {
    if (this.looping) {
      this.again = true;
      return;
    }
    this.looping = true;
    do {
      this.again = false;
      this.current = undefined;
      this.step();
    } while (this.again && !this.out.closed);
    this.looping = false;
  }

  stop(): void {
    this.current?.unsubscribe();
    for (const settlement of this.settlements) settlement.unsubscribe();
    this.settlements.clear();
  }

  private step(): void {
    const { ctx } = this;
    for (;;) {
      const next = ctx.source.take();
      if (next === 'done') {
        this.sourceDone = true;
        this.completeIfDone();
        return;
      }
      if (next === 'wait') {
        this.current = ctx.source.changed$.pipe(take(1)).subscribe(() => this.next());
        return;
      }
      if (next.cancelled || !prepared(ctx, next)) continue;
      this.current = transaction$(ctx, next).subscribe({
        next: (settlement$) => this.run(settlement$),
        error: (err: unknown) => this.out.error(err),
        complete: () => this.next(),
      });
      return;
    }
  }

  private run(settlement$: Observable<never>): void {
    let subscription: Subscription | undefined;
    let done = false;
    subscription = settlement$.subscribe({
      error: (err: unknown) => this.out.error(err),
      complete: () => {
        done = true;
        if (subscription !== undefined) this.settlements.delete(subscription);
        this.completeIfDone();
      },
    });
    if (!done) this.settlements.add(subscription);
  }

  private completeIfDone(): void {
    if (this.sourceDone && this.settlements.size === 0 && !this.out.closed) this.out.complete();
  }
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
