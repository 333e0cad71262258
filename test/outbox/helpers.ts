import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { type Observable, firstValueFrom, take, toArray } from 'rxjs';
import { SmtpError } from '../../lib/errors';
import { type Outbox, type OutboxOptions, type OutboxOutcome, createOutbox } from '../../lib/outbox';
import type { PoolOptions } from '../../lib/pool';
import { type RedisFixture, startRedis } from '../fixtures/redis';
import { type Step, hello } from '../fixtures/scripted-server';

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

/** The SmtpError a promise rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<SmtpError> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (err: unknown) => err,
  );
  expect(error).to.be.instanceOf(SmtpError);
  return error as SmtpError;
}

/** One mail's transaction without PIPELINING: MAIL, RCPT, DATA, the content, and this reply to its end (none: no reply). */
export function transaction(endOfDataReply?: string): Step[] {
  return [
    { expect: /^MAIL FROM:/, send: '250 2.1.0 Ok\r\n' },
    { expect: /^RCPT TO:/, send: '250 2.1.5 Ok\r\n' },
    { expect: 'DATA', send: '354 go ahead\r\n' },
    { expectData: true, ...(endOfDataReply !== undefined && { send: endOfDataReply }) },
  ];
}

/** A server that takes one mail's content and dies without answering its end of data: the mail is uncertain. */
export function diesAfterEndOfData(): Step[] {
  return [...hello(), ...transaction(), { destroy: true }];
}
