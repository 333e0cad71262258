import { firstValueFrom } from 'rxjs';
import type { Outbox, OutboxCounts } from '../outbox';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';
import type { OutboxAddCommand, OutboxCommand, OutboxUncertainCommand } from './outbox-args';
import { runOutboxWork } from './outbox-work';
import { openOutbox, redisError } from './redis';
import { mailSource } from './send';

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
