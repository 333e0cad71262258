import { type Job, type Processor, UnrecoverableError } from 'bullmq';
import { firstValueFrom } from 'rxjs';
import { SmtpError } from '../errors';
import type { SmtpPool } from '../pool';
import { type Delivery, type Fate, describeFailure, fateOf } from './fate';
import { type OutboxJobData, mailOf } from './job-data';
import type { Ledger } from './ledger';
import type { OutboxOutcome } from './outcome';

/** What the processor of one `work()` needs. */
export interface ProcessorContext {
  readonly ledger: Ledger;
  readonly pool: SmtpPool;
  /** Names this worker in its marks: host and process, unless the caller named it. */
  readonly workerName: string;
  /**
   * Keeps the job's outcome until BullMQ has recorded the fate in Redis (its `completed` and
   * `failed` events): an outcome seen is then one the queue will not contradict.
   */
  record(job: Job<OutboxJobData>, outcome: OutboxOutcome): void;
}

/**
 * A transient failure, thrown so that BullMQ retries the job (after the outbox's backoff) while
 * it has attempts left.
 */
export class TransientFailure extends Error {
  override readonly name = 'TransientFailure';
  constructor(readonly error: SmtpError) {
    super(describeFailure(error), { cause: error });
  }
}

/**
 * This worker's lock on the job is gone (it stalled, and another worker has the job or will):
 * nothing was sent, and BullMQ's own lock check keeps the failure from touching the job.
 */
class LockLost extends Error {
  override readonly name = 'LockLost';
}

/** Redis did not answer the mark (a restart, a timeout): the mail was not sent, so it is tried again later. */
class MarkFailed extends Error {
  override readonly name = 'MarkFailed';
}

/**
 * The BullMQ processor of a `work()`: claims the job (which finds the mails a stopped worker left
 * marked), sends it through the pool, marking it just before its end of data, and turns its fate
 * into the job's: a return value (completed), a {@link TransientFailure} (retried) or an
 * `UnrecoverableError` (failed for good).
 *
 * @example
 * ```ts
 * const worker = new Worker(name, outboxProcessor(context), { connection, autorun: false });
 * ```
 */
export function outboxProcessor(context: ProcessorContext): Processor<OutboxJobData, Delivery> {
  return async (job, token) => {
    const id = job.id!;
    if (token === undefined) throw new Error('BullMQ gave the job no lock token');
    const claim = await context.ledger.claim(id, token, `${context.workerName} found it abandoned after its mark`);
    switch (claim.kind) {
      case 'lost':
        throw new LockLost(`job ${id}: the lock is no longer this worker's`);
      case 'resolved':
        return settle(context, job, { kind: 'delivered', delivery: resolvedDelivery(job.data) });
      case 'uncertain':
        return settle(context, job, { kind: 'uncertain', error: new SmtpError('EOWNERDEAD', `a worker stopped after marking this mail (${claim.lastLine})`), rejected: [] });
      case 'fresh':
        return settle(context, job, await send(context, job, token));
    }
  };
}

/**
 * Sends the job's mail through the pool, marking the job just before the mail's end of data can
 * leave (the pool's `beforeEndOfData`). A mark that fails fails the mail before any of it is
 * written: refused because the lock is gone, that is no fate of the job's, which is another
 * worker's now ({@link LockLost}); not answered by Redis, the mail is transient, tried again after
 * the backoff (the pool alone would call a hook's failure `EIO`, permanent).
 */
async function send(context: ProcessorContext, job: Job<OutboxJobData>, token: string): Promise<Fate> {
  const beforeEndOfData = (): Promise<void> => mark(context, job, token);
  const outcome = await firstValueFrom(context.pool.sendAll([mailOf(job.data, job.id!)], { beforeEndOfData }));
  if (outcome.ok) return fateOf(outcome);
  const { cause } = outcome.error;
  if (cause instanceof LockLost) throw cause;
  if (cause instanceof MarkFailed) return { kind: 'transient', error: new SmtpError('EIO', `${cause.message}; not sent`, { cause: cause.cause }), rejected: [] };
  return fateOf(outcome);
}

/**
 * The crash mark (see ledger.ts): from here on, a worker that dies leaves the job uncertain
 * instead of to be run again. Throws {@link LockLost} when the lock is gone and {@link MarkFailed}
 * when Redis fails, so that the mail is not sent.
 */
async function mark(context: ProcessorContext, job: Job<OutboxJobData>, token: string): Promise<void> {
  const note = `${context.workerName} marked it for its end of data at ${new Date().toISOString()}`;
  let marked: boolean;
  try {
    marked = await context.ledger.mark(job.id!, token, note);
  } catch (err) {
    throw new MarkFailed(`job ${job.id}: the mark could not be written (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (!marked) throw new LockLost(`job ${job.id}: the lock was lost before the end of data; not sent`);
}

/** Records the fate's outcome and hands the fate to BullMQ: returns (completed) or throws (retried, or failed for good). */
async function settle(context: ProcessorContext, job: Job<OutboxJobData>, fate: Fate): Promise<Delivery> {
  const base = { id: job.id!, to: job.data.to, attempt: job.attemptsMade + 1 };
  switch (fate.kind) {
    case 'delivered':
      context.record(job, { ...base, fate: 'delivered', delivery: fate.delivery });
      return fate.delivery;
    case 'transient': {
      const retry = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
      context.record(job, { ...base, fate: 'transient', error: fate.error, rejected: fate.rejected, retry });
      throw new TransientFailure(fate.error);
    }
    case 'uncertain':
      // Recorded before the job fails: a crash in between leaves it marked, so uncertain again.
      await context.ledger.recordUncertain(job.id!, describeFailure(fate.error));
      context.record(job, { ...base, fate: 'uncertain', error: fate.error, rejected: fate.rejected });
      throw new UnrecoverableError(`uncertain: ${describeFailure(fate.error)}`);
    case 'permanent':
      context.record(job, { ...base, fate: 'permanent', error: fate.error, rejected: fate.rejected });
      throw new UnrecoverableError(describeFailure(fate.error));
  }
}

function resolvedDelivery(data: OutboxJobData): Delivery {
  return { reply: 'resolved as delivered by an operator', accepted: data.to, rejected: [], resolved: true };
}
