import { invalid } from '../errors';
import type { ConnectionOptions } from 'bullmq';
import { integer } from './check';
import { type ResolvedRetry, type RetryOptions, resolveRetry } from './backoff';
import { DEFAULT_MAX_BODY_BYTES, MAX_BODY_BYTES_LIMIT } from './job-data';

/**
 * Options of {@link createOutbox}.
 *
 * @example
 * ```ts
 * const options: OutboxOptions = { connection: { host: '127.0.0.1', port: 6379 }, name: 'newsletter', maxBodyBytes: 4_194_304 };
 * ```
 */
export interface OutboxOptions {
  /** What BullMQ takes: ioredis options (`{ host, port, password, tls, ... }`) or an ioredis instance (with `maxRetriesPerRequest: null`). */
  connection: ConnectionOptions;
  /** The queue's name; producers and workers of one outbox use the same. */
  name: string;
  /** BullMQ's key prefix (default `bull`); under Redis Cluster, a hash tag such as `{outbox}`. */
  prefix?: string;
  /** The largest body `add()` takes, in octets; larger is `EMSGSIZE`. Default 1 MiB, at most 256 MiB. */
  maxBodyBytes?: number;
  /** How transient failures are retried. */
  retry?: RetryOptions;
  /**
   * Seconds a delivered job is kept, during which `add()` with its id is a no-op (the window of
   * idempotence). Failed and uncertain jobs are kept until removed. Default 7 days.
   */
  keepDeliveredSeconds?: number;
  /** How often `counts$` reads the counts, in ms. Default 1 000. */
  countsIntervalMs?: number;
}

/** {@link OutboxOptions} checked, with their defaults. */
export interface ResolvedOutboxOptions {
  connection: ConnectionOptions;
  name: string;
  prefix: string | undefined;
  maxBodyBytes: number;
  retry: ResolvedRetry;
  keepDeliveredSeconds: number;
  countsIntervalMs: number;
}

/** A week: producers that retry do so within minutes; a week covers a retry after an outage too. */
export const DEFAULT_KEEP_DELIVERED_SECONDS = 7 * 24 * 3600;
/** A second: counts for a person or a progress bar, at one small Redis round trip per second. */
export const DEFAULT_COUNTS_INTERVAL_MS = 1_000;
/** A queue name becomes part of every Redis key: printable, no `:`. */
const NAME = /^[A-Za-z0-9._\-+=@/{}]{1,128}$/;
/** setTimeout's ceiling (2^31 - 1 ms). */
const MAX_MS = 2_147_483_647;

/** Checks {@link OutboxOptions}, throwing `EINVAL` before anything connects. */
export function resolveOutboxOptions(options: OutboxOptions): ResolvedOutboxOptions {
  if (options === null || typeof options !== 'object') throw invalid('outbox options must be an object');
  const { connection, name, prefix, maxBodyBytes, retry, keepDeliveredSeconds, countsIntervalMs } = options;
  if (connection === null || typeof connection !== 'object') throw invalid('connection must be ioredis options or an ioredis instance');
  if (typeof name !== 'string' || !NAME.test(name)) throw invalid('name must be 1 to 128 characters of letters, digits and . _ - + = @ / { }');
  if (prefix !== undefined && (typeof prefix !== 'string' || !NAME.test(prefix))) throw invalid('prefix must be 1 to 128 characters like a name');
  return {
    connection,
    name,
    prefix,
    maxBodyBytes: integer(maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, 'maxBodyBytes', 1, MAX_BODY_BYTES_LIMIT),
    retry: resolveRetry(retry),
    keepDeliveredSeconds: integer(keepDeliveredSeconds ?? DEFAULT_KEEP_DELIVERED_SECONDS, 'keepDeliveredSeconds', 1, 10 * 365 * 24 * 3600),
    countsIntervalMs: integer(countsIntervalMs ?? DEFAULT_COUNTS_INTERVAL_MS, 'countsIntervalMs', 1, MAX_MS),
  };
}
