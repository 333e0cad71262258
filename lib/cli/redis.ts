import type { RedisOptions } from 'bullmq';
import { isSmtpErrorCode } from '../error-codes';
import { SmtpError } from '../errors';
import { type Outbox, createOutbox } from '../outbox';
import { InputError } from './io';
import { DataError } from './mails';
import type { OutboxTarget } from './outbox-args';
import { UsageError } from './usage';

/**
 * The outbox a command line names. `extra` goes to ioredis.
 *
 * @example
 * ```ts
 * const outbox = openOutbox({ redis: 'redis://127.0.0.1:6379', queue: 'rx-smtp' });
 * ```
 */
export function openOutbox(target: OutboxTarget, extra: Partial<RedisOptions> = {}): Outbox {
  return createOutbox({ connection: { ...redisOptions(target.redis), ...extra }, name: target.queue });
}

/**
 * ioredis options from a `redis://[user:password@]host[:port][/db]` URL (`rediss://` for TLS).
 *
 * @example
 * ```ts
 * redisOptions('redis://10.0.0.5:6380/2'); // { host: '10.0.0.5', port: 6380, db: 2 }
 * ```
 */
export function redisOptions(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--redis ${JSON.stringify(url)} is not a URL (redis://host:6379/0)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new UsageError('--redis must be a redis:// or rediss:// URL');
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new UsageError('the database in --redis must be a number (redis://host:6379/0)');
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(db !== '' && { db: Number(db) }),
    ...(parsed.username !== '' && { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password !== '' && { password: decodeURIComponent(parsed.password) }),
    ...(parsed.protocol === 'rediss:' && { tls: {} }),
  };
}

/** A Redis client's error (refused, timed out, closed) as an {@link SmtpError}, with its code when it has a known one (else `EIO`), for the exit status. */
export function redisError(error: unknown): unknown {
  const ours = error instanceof SmtpError || error instanceof UsageError || error instanceof DataError || error instanceof InputError;
  if (ours || !(error instanceof Error)) return error;
  const code = (error as { code?: string }).code;
  return new SmtpError(code !== undefined && isSmtpErrorCode(code) ? code : 'EIO', `Redis: ${error.message}`, { cause: error });
}
