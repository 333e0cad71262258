import { randomUUID } from 'node:crypto';
import { type Observable, firstValueFrom, take, toArray } from 'rxjs';
import { type Outbox, type OutboxOptions, type OutboxOutcome, createOutbox } from '../../lib/outbox';
import type { PoolOptions } from '../../lib/pool';
import { type RedisFixture, startRedis } from '../fixtures/redis';

/**
 * What the outbox tests share: one Redis per test file, a fresh queue per test (so tests never see
 * each other's jobs), and every outbox closed after its test.
 *
 * @example
 * ```ts
 * describe('outbox', () => {
 *   const env = outboxEnv();
 *   it('adds', async () => {
 *     const outbox = env.outbox();
 *     await outbox.add(mail);
 *   });
 * });
 * ```
 */
export interface OutboxEnv {
  redis(): RedisFixture;
  /** A new outbox on a queue of its own; closed after the test. */
  outbox(options?: Partial<OutboxOptions>): Outbox;
}

/** Retries in tests: a few, soon, so that a retry is seen within the test. */
export const QUICK_RETRY = { attempts: 3, delayMs: 20, maxDelayMs: 40 };
/** Counts in tests: read often, so that waiting for a count costs little. */
const COUNTS_INTERVAL_MS = 10;

/** Registers the hooks: Redis started before the file's tests (skipped with the reason when not installed), outboxes closed after each. */
export function outboxEnv(): OutboxEnv {
  let redis: RedisFixture | null = null;
  const open: Outbox[] = [];
  before(async function () {
    redis = await startRedis();
    if (redis === null) this.skip(); // not installed: redisMissing() says so
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((outbox) => outbox.close()));
  });
  after(() => redis?.stop());
  return {
    redis: () => redis!,
    outbox(options = {}) {
      const outbox = createOutbox({ connection: redis!.connection, name: `t-${randomUUID()}`, retry: QUICK_RETRY, countsIntervalMs: COUNTS_INTERVAL_MS, ...options });
      open.push(outbox);
      return outbox;
    },
  };
}

/** Pool options for a test server on 127.0.0.1 without TLS. */
export function poolTo(port: number, options: Partial<PoolOptions> = {}): PoolOptions {
  return { server: { host: '127.0.0.1', port }, tls: 'none', idleTimeout: 50, ...options };
}

/** The first `count` outcomes of a `work()`, which is then unsubscribed. */
export function firstOutcomes(work$: Observable<OutboxOutcome>, count: number): Promise<OutboxOutcome[]> {
  return firstValueFrom(work$.pipe(take(count), toArray()));
}

/** Mail number `i` of a test. */
export function mail(i: number, to = `rcpt${i}@example.test`): { from: string; to: string; body: string } {
  return { from: 'sender@example.test', to, body: `Subject: ${i}\r\n\r\nbody ${i}\r\n` };
}
