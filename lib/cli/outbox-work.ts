import { filter, firstValueFrom } from 'rxjs';
import type { OutboxOutcome } from '../outbox';
import type { PoolOptions } from '../pool';
import { sessionOptions } from './connect';
import { type ExitCode, exitCodeFor, worstExitCode } from './exit-codes';
import type { CliIo } from './io';
import type { OutboxWorkCommand } from './outbox-args';
import { openOutbox } from './outbox';
import { resolvePassword } from './password';
import { type ProgressEvent, createProgress } from './progress';
import { describeError } from './report';
import { poolOptions } from './send';

/**
 * Runs `rx-smtp outbox work`: a worker in this process, one pool to `--server`, a progress bar on a
 * terminal (one line per mail otherwise), until SIGINT or SIGTERM (or, with `--until-empty`, until
 * nothing is waiting, active or delayed). Stopping lets the mails held finish. The status is the
 * worst failure's, as for `send --count`.
 *
 * @example
 * ```ts
 * process.exitCode = await runOutboxWork(command, io);
 * ```
 */
export async function runOutboxWork(command: OutboxWorkCommand, io: CliIo): Promise<ExitCode> {
  const password = await resolvePassword(command, io);
  const pool: PoolOptions = {
    ...poolOptions(command, await sessionOptions(command, io), password),
    ...(command.connections !== undefined && { maxConnections: command.connections }),
  };
  const outbox = openOutbox(command);
  const progress = createProgress(io, undefined);
  const codes: ExitCode[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const subscription = outbox
        .work(pool, command.concurrency === undefined ? {} : { concurrency: command.concurrency })
        .subscribe({ next: (outcome) => record(outcome, progress.record.bind(progress), codes), error: reject });
      const stop = (): void => {
        process.off('SIGINT', stop).off('SIGTERM', stop);
        subscription.unsubscribe();
        void outbox.close().then(resolve, reject);
      };
      process.once('SIGINT', stop).once('SIGTERM', stop);
      if (command.untilEmpty) void firstValueFrom(outbox.counts$.pipe(filter((c) => c.waiting + c.active + c.delayed === 0))).then(stop, reject);
    });
  } finally {
    progress.finish();
    await outbox.close();
  }
  return worstExitCode(codes);
}

/** Shows a mail's final fate; a transient failure that will be retried is not one yet. */
function record(outcome: OutboxOutcome, show: (event: ProgressEvent) => void, codes: ExitCode[]): void {
  if (outcome.fate === 'delivered') {
    show({ ok: true, to: outcome.to, detail: outcome.delivery.reply });
    return;
  }
  if (outcome.fate === 'transient' && outcome.retry) return;
  const prefix = { permanent: '', transient: 'attempts used up: ', uncertain: 'uncertain, may have been delivered: ' }[outcome.fate];
  show({ ok: false, to: outcome.to, detail: prefix + describeError(outcome.error) });
  codes.push(exitCodeFor(outcome.error, false));
}
