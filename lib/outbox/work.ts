import { invalid } from '../errors';
import { hostname } from 'node:os';
import { type ConnectionOptions, type Job, type Processor, Worker } from 'bullmq';
import { Observable, lastValueFrom } from 'rxjs';
import { type PoolOptions, createPool } from '../pool';
import { DEFAULT_MAX_CONNECTIONS } from '../pool/options';
import { CONNECTION_WINDOW } from '../pool/worker';
import { type ResolvedRetry, retryDelay } from './backoff';
import { integer } from './check';
import type { Delivery } from './fate';
import type { OutboxJobData } from './job-data';
import { Ledger } from './ledger';
import type { OutboxOutcome } from './outcome';
import { outboxProcessor } from './processor';

/**
 * Options of `outbox.work()`.
 *
 * @example
 * ```ts
 * outbox.work({ server: 'smtp://mail.example.com:587', maxConnections: 4 }, { concurrency: 8, lockMs: 10_000 });
 * ```
 */
export interface WorkOptions {
  /**
   * Jobs held at once. Default: what the pool can have in flight, `maxConnections` × 2 (each
   * connection pipelines two mails), so that a job is fetched only when the pool has room for it.
   */
  concurrency?: number;
  /**
   * How long a job's lock lasts without renewal, in ms (BullMQ's `lockDuration`); the worker renews
   * it every half of that. A worker that dies leaves its jobs to others within one and a half times this.
   * Default 30 000.
   */
  lockMs?: number;
  /** Names this worker in its crash marks and in BullMQ. Default `host:pid`. */
  name?: string;
}

/** What `work()` needs of its outbox. */
export interface WorkContext {
  readonly name: string;
  readonly connection: ConnectionOptions;
  readonly prefix: string | undefined;
  readonly retry: ResolvedRetry;
  /** Throws `EPERM` once the outbox is closed. */
  assertOpen(): void;
  /** Keeps the worker's stop so that `outbox.close()` can call it and wait for it; returns the undo. */
  track(stop: () => Promise<void>): () => void;
}

/** BullMQ's default: 30 s without a renewal and a worker is taken for dead. */
export const DEFAULT_LOCK_MS = 30_000;
/**
 * Stalls (a worker dying with the job, before its mark) after which BullMQ fails a job. High: a job
 * marked once becomes uncertain at its next run, so only a job that kills every worker before its
 * mark comes here, and a failed job must never be one that may have been delivered.
 */
export const MAX_STALLS = 100;
/** setTimeout's ceiling (2^31 - 1 ms). */
const MAX_MS = 2_147_483_647;

/**
 * The cold Observable behind `outbox.work()`: on subscribe, a pool and a BullMQ worker feeding it;
 * each job's outcome as it ends; on unsubscribe, the worker stops fetching, lets the jobs it holds
 * finish by the pool's rules, and closes the pool.
 *
 * @example
 * ```ts
 * const subscription = work(context, { server: 'localhost:2525' }, {}).subscribe(console.log);
 * ```
 */
export function work(context: WorkContext, poolOptions: PoolOptions, options: WorkOptions = {}): Observable<OutboxOutcome> {
  return new Observable<OutboxOutcome>((subscriber) => {
    const resolved = resolveWorkOptions(options, poolOptions);
    context.assertOpen();
    const pool = createPool(poolOptions);
    // Its scripts run on the worker's own client, whose commands wait through a Redis restart.
    const ledger = new Ledger(() => worker.getBackend().client, (type) => worker.toKey(type));
    // Keyed by the Job object BullMQ passes to the processor and then to its events.
    const outcomes = new WeakMap<Job, OutboxOutcome>();
    const processor = outboxProcessor({ ledger, pool, workerName: resolved.name, record: (job, outcome) => outcomes.set(job, outcome) });
    const worker = startWorker(context, resolved, processor);
    // Emitted once the queue has recorded the fate; a job whose lock was lost has no outcome here.
    const emit = (job: Job | undefined): void => {
      const outcome = job === undefined ? undefined : outcomes.get(job);
      if (outcome !== undefined) subscriber.next(outcome);
    };
    worker.on('completed', emit).on('failed', emit);
    void worker.run().catch((error: unknown) => subscriber.error(error));
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        await worker.close();
        await lastValueFrom(pool.close(), { defaultValue: undefined });
        subscriber.complete();
      })());
    const untrack = context.track(stop);
    return () => {
      void stop().finally(untrack);
    };
  });
}

/** A BullMQ worker for the outbox's queue, not yet running. */
function startWorker(context: WorkContext, options: Required<WorkOptions>, processor: Processor<OutboxJobData, Delivery>): Worker<OutboxJobData, Delivery> {
  const worker = new Worker<OutboxJobData, Delivery>(context.name, processor, {
    connection: context.connection,
    ...(context.prefix !== undefined && { prefix: context.prefix }),
    name: options.name,
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    // Half the lock: a dead worker's job is in the stalled set at one check and moved at the next.
    stalledInterval: Math.max(1, Math.floor(options.lockMs / 2)),
    maxStalledCount: MAX_STALLS,
    settings: { backoffStrategy: (attemptsMade: number) => retryDelay(attemptsMade, context.retry) },
    autorun: false,
  });
  // Connection errors are BullMQ's to retry (it reconnects); without a listener they would throw.
  worker.on('error', () => {});
  return worker;
}

function resolveWorkOptions(options: WorkOptions, poolOptions: PoolOptions): Required<WorkOptions> {
  if (options === null || typeof options !== 'object') throw invalid('work options must be an object');
  const maxConnections = poolOptions?.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  return {
    concurrency: integer(options.concurrency ?? maxConnections * CONNECTION_WINDOW, 'concurrency', 1, 10_000),
    lockMs: integer(options.lockMs ?? DEFAULT_LOCK_MS, 'lockMs', 100, MAX_MS),
    name: options.name ?? `${hostname()}:${process.pid}`,
  };
}
