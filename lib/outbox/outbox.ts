import { Queue } from 'bullmq';
import { type Observable, distinctUntilChanged, exhaustMap, shareReplay, timer } from 'rxjs';
import { SmtpError, invalid } from '../errors';
import type { Mail } from '../mail/mail';
import type { PoolOptions } from '../pool';
import { type OutboxJobData, checkJobId, jobDataOf } from './job-data';
import { Ledger } from './ledger';
import { type OutboxOptions, type ResolvedOutboxOptions, resolveOutboxOptions } from './options';
import type { OutboxOutcome } from './outcome';
import { type WorkOptions, work } from './work';

/**
 * How many jobs are where, as `outbox.counts$` emits them.
 *
 * @example
 * ```ts
 * outbox.counts$.subscribe((c: OutboxCounts) => console.log(`${c.waiting} waiting, ${c.delivered} delivered, ${c.uncertain} uncertain`));
 * ```
 */
export interface OutboxCounts {
  /** Waiting for a worker. */
  waiting: number;
  /** Held by a worker now. */
  active: number;
  /** Delivered (completed), within the time delivered jobs are kept. */
  delivered: number;
  /** Failed for good: permanent, or transient with its attempts used up. */
  failed: number;
  /** May have been delivered; waiting for an operator (see `uncertain()`). */
  uncertain: number;
  /** Waiting for their retry's time. */
  delayed: number;
}

/**
 * A mail that may have been delivered, for an operator to check (the server's logs, the
 * recipient) and resolve.
 *
 * @example
 * ```ts
 * for (const u of await outbox.uncertain()) console.log(u.id, u.to.join(','), u.since.toISOString(), u.lastLine);
 * ```
 */
export interface UncertainMail {
  /** The job's id. */
  id: string;
  /** The mail's sender. */
  from: string;
  /** The mail's recipients. */
  to: string[];
  /** When it became uncertain. */
  since: Date;
  /**
   * The last thing known of its transfer: the error that ended its connection after its end of
   * data (with the server's last reply, if any), or the mark its worker left before it stopped.
   */
  lastLine: string;
}

/**
 * A durable outbox on BullMQ and Redis: producers `add()` mails, workers in any number of
 * processes `work()` them through an rx-smtp pool, and every mail ends delivered, failed or
 * uncertain, exactly once, even when a worker is killed (see the README's "Scaling out").
 *
 * @example
 * ```ts
 * const outbox = createOutbox({ connection: { host: '127.0.0.1', port: 6379 }, name: 'mail' });
 * await outbox.add({ from: 'a@example.com', to: 'b@example.com', body: 'Subject: hi\r\n\r\nHello\r\n' }, { id: 'order-1234' });
 * outbox.work({ server: 'smtp://mail.example.com:587', username: 'alice', password }).subscribe((o) => console.log(o.id, o.fate));
 * ```
 */
export interface Outbox {
  /**
   * Enqueues a mail; resolves with its job id. With an `id`, adding again while the job exists
   * (delivered ones are kept `keepDeliveredSeconds`) is a no-op that resolves with the same id.
   * `EINVAL` for a bad mail or id, `EMSGSIZE` for a body over `maxBodyBytes`, `EPERM` once closed.
   */
  add(mail: Mail, options?: { id?: string }): Promise<string>;
  /**
   * Works the queue in this process through one pool with these options: a cold Observable of
   * each job's outcome. Unsubscribing stops fetching, lets the jobs held finish, closes the pool.
   */
  work(poolOptions: PoolOptions, options?: WorkOptions): Observable<OutboxOutcome>;
  /** The counts now, then every change, read every `countsIntervalMs`. */
  readonly counts$: Observable<OutboxCounts>;
  /** Every uncertain mail, oldest first. */
  uncertain(): Promise<UncertainMail[]>;
  /**
   * Settles an uncertain mail: `delivered` completes its job without sending it, `retry` sends it
   * again; both through the next worker. `EINVAL` when no uncertain mail has this id (or its job
   * was removed), `EPERM` while a worker still holds its job (it is failing as uncertain right now:
   * resolve it again in a moment).
   */
  resolve(id: string, resolution: 'delivered' | 'retry'): Promise<void>;
  /** Stops every worker this outbox started (as unsubscribing does), then closes its Redis connection. */
  close(): Promise<void>;
}

/**
 * Creates an outbox on the queue `name`. Nothing is sent until `work()` is subscribed.
 *
 * @throws `SmtpError` `EINVAL` for a bad option.
 * @example
 * ```ts
 * const outbox = createOutbox({ connection: { host: 'redis.internal', port: 6379 }, name: 'transactional' });
 * ```
 */
export function createOutbox(options: OutboxOptions): Outbox {
  return new RedisOutbox(resolveOutboxOptions(options));
}

class RedisOutbox implements Outbox {
  private readonly queue: Queue<OutboxJobData>;
  private readonly ledger: Ledger;
  private readonly workers = new Set<() => Promise<void>>();
  private closing: Promise<void> | undefined;
  readonly counts$: Observable<OutboxCounts>;

  constructor(private readonly options: ResolvedOutboxOptions) {
    const { connection, name, prefix } = options;
    this.queue = new Queue<OutboxJobData>(name, { connection, ...(prefix !== undefined && { prefix }) });
    // The producer's connection gives up on a command after ioredis's retries: add() must not hang.
    this.queue.on('error', () => {});
    this.ledger = new Ledger(() => this.queue.getBackend().client, (type) => this.queue.toKey(type));
    this.counts$ = timer(0, options.countsIntervalMs).pipe(
      exhaustMap(() => this.readCounts()),
      distinctUntilChanged(sameCounts),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
  }

  async add(mail: Mail, options: { id?: string } = {}): Promise<string> {
    if (this.closing !== undefined) throw new SmtpError('EPERM', 'the outbox is closed');
    if (options === null || typeof options !== 'object') throw invalid('add options must be an object');
    const id = options.id === undefined ? undefined : checkJobId(options.id);
    const data = await jobDataOf(mail, this.options.maxBodyBytes);
    const job = await this.queue.add('mail', data, {
      ...(id !== undefined && { jobId: id }),
      attempts: this.options.retry.attempts,
      backoff: { type: 'rx-smtp' },
      removeOnComplete: { age: this.options.keepDeliveredSeconds },
      removeOnFail: false,
    });
    return job.id!;
  }

  work(poolOptions: PoolOptions, options?: WorkOptions): Observable<OutboxOutcome> {
    const context = {
      name: this.options.name,
      connection: this.options.connection,
      prefix: this.options.prefix,
      retry: this.options.retry,
      assertOpen: () => {
        if (this.closing !== undefined) throw new SmtpError('EPERM', 'the outbox is closed');
      },
      track: (stop: () => Promise<void>) => {
        this.workers.add(stop);
        return () => this.workers.delete(stop);
      },
    };
    return work(context, poolOptions, options);
  }

  async uncertain(): Promise<UncertainMail[]> {
    const entries = [...(await this.ledger.uncertain())].sort(([, a], [, b]) => a.since - b.since);
    return Promise.all(
      entries.map(async ([id, entry]) => {
        const job = await this.queue.getJob(id);
        return { id, from: job?.data.from ?? '', to: job?.data.to ?? [], since: new Date(entry.since), lastLine: entry.lastLine };
      }),
    );
  }

  async resolve(id: string, resolution: 'delivered' | 'retry'): Promise<void> {
    if (typeof id !== 'string' || id === '') throw invalid('resolve needs the id of an uncertain mail');
    if (resolution !== 'delivered' && resolution !== 'retry') throw invalid("a resolution is 'delivered' or 'retry'");
    const resolved = await this.ledger.resolve(id, resolution);
    if (resolved === 'not-uncertain') throw invalid(`no uncertain mail has the id ${id}`);
    const job = resolved === 'gone' ? undefined : await this.queue.getJob(id);
    if (job === undefined) {
      await this.ledger.forget(id); // removed since the script ran
      throw invalid(`the job ${id} no longer exists; it is no longer listed as uncertain`);
    }
    if ((await job.getState()) === 'failed') await job.retry('failed');
    // A job still active is failing as uncertain right now; resolving it again once it has failed works.
    else throw new SmtpError('EPERM', `the job ${id} is still held by a worker; resolve it again in a moment`);
    await this.ledger.forget(id);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.workers].map((stop) => stop()));
      await this.queue.close();
    })();
    return this.closing;
  }

  private async readCounts(): Promise<OutboxCounts> {
    const [counts, uncertain] = await Promise.all([
      this.queue.getJobCounts('wait', 'prioritized', 'active', 'completed', 'failed', 'delayed'),
      this.ledger.uncertainCount(),
    ]);
    const n = (key: string): number => counts[key] ?? 0;
    return {
      waiting: n('wait') + n('prioritized'),
      active: n('active'),
      delivered: n('completed'),
      // Uncertain jobs are failed jobs to BullMQ; they are counted once, as uncertain.
      failed: Math.max(0, n('failed') - uncertain),
      uncertain,
      delayed: n('delayed'),
    };
  }
}

function sameCounts(a: OutboxCounts, b: OutboxCounts): boolean {
  return (Object.keys(a) as (keyof OutboxCounts)[]).every((key) => a[key] === b[key]);
}
