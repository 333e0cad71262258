import type { RedisOptions } from 'bullmq';
import { firstValueFrom } from 'rxjs';
import { isSmtpErrorCode } from '../error-codes';
import { SmtpError } from '../errors';
import { type Outbox, type OutboxCounts, createOutbox } from '../outbox';
import { ExitCode } from './exit-codes';
import { type CliIo, InputError } from './io';
import { DataError } from './mails';
import type { OutboxAddCommand, OutboxCommand, OutboxTarget, OutboxUncertainCommand } from './outbox-args';
import { runOutboxWork } from './outbox-work';
import { mailSource } from './send';
import { UsageError } from './usage';

/**
 * Runs `rx-smtp outbox add|work|status|uncertain`. Loaded only for these commands, so that BullMQ
 * (a peer dependency of `rx-smtp/outbox` alone) is needed only by those who use them.
 *
 * @example
 * ```ts
 * process.exitCode = await runOutbox({ command: 'outbox-status', redis: 'redis://127.0.0.1:6379', queue: 'rx-smtp' }, io);
 * ```
 */
export async function runOutbox(command: OutboxCommand, io: CliIo): Promise<ExitCode> {
  if (command.command === 'outbox-work') return runOutboxWork(command, io);
  // A one-shot command fails soon when Redis is not there, instead of retrying as a worker does.
  const outbox = openOutbox(command, { maxRetriesPerRequest: 1, retryStrategy: (times: number) => (times > REDIS_RETRIES ? null : REDIS_RETRY_MS) });
  try {
    switch (command.command) {
      case 'outbox-add':
        return await add(outbox, command, io);
      case 'outbox-status':
        return status(await firstValueFrom(outbox.counts$), io);
      case 'outbox-uncertain':
        return await uncertain(outbox, command, io);
    }
  } catch (error) {
    throw redisError(error);
  } finally {
    await outbox.close().catch(() => undefined);
  }
}

/** Reconnects a one-shot command tries before it gives up. */
const REDIS_RETRIES = 2;
/** Pause between them: a Redis that restarts is back within this. */
const REDIS_RETRY_MS = 250;
/** Adds in flight at once for --count and --mails: one round trip each, pipelined by ioredis. */
const ADD_BATCH = 100;

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

/** The mails of the command line (built as `send` builds them), enqueued a batch at a time; one with `--id`. */
async function add(outbox: Outbox, command: OutboxAddCommand, io: CliIo): Promise<ExitCode> {
  const source = (await mailSource(command, io))();
  if (command.count === undefined && command.mails === undefined) {
    const { mail } = (await source.next()).value!;
    const id = await outbox.add(mail, command.id === undefined ? {} : { id: command.id });
    io.stdout.write(`added ${id}\n`);
    return ExitCode.Ok;
  }
  let added = 0;
  let batch: Promise<string>[] = [];
  const flush = async (): Promise<void> => {
    added += (await Promise.all(batch)).length;
    batch = [];
  };
  for await (const { mail } of source) {
    batch.push(outbox.add(mail));
    if (batch.length >= ADD_BATCH) await flush();
  }
  await flush();
  io.stdout.write(`added ${added} mails\n`);
  return ExitCode.Ok;
}

function status(counts: OutboxCounts, io: CliIo): ExitCode {
  const width = Math.max(...Object.keys(counts).map((key) => key.length)) + 2;
  for (const [key, value] of Object.entries(counts)) io.stdout.write(`${key.padEnd(width)}${value}\n`);
  return ExitCode.Ok;
}

async function uncertain(outbox: Outbox, command: OutboxUncertainCommand, io: CliIo): Promise<ExitCode> {
  for (const [ids, resolution] of [
    [command.delivered, 'delivered'],
    [command.retry, 'retry'],
  ] as const) {
    for (const id of ids) {
      await outbox.resolve(id, resolution);
      io.stdout.write(`resolved ${id}: ${resolution === 'delivered' ? 'delivered, will not be sent' : 'will be sent again'}\n`);
    }
  }
  const mails = await outbox.uncertain();
  if (mails.length === 0 && command.delivered.length + command.retry.length === 0) io.stdout.write('no uncertain mail\n');
  for (const mail of mails) io.stdout.write(`${mail.id}\t${mail.since.toISOString()}\t${mail.to.join(',')}\t${mail.lastLine}\n`);
  return ExitCode.Ok;
}
