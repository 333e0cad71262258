import { NEVER, filter, fromEvent, lastValueFrom, merge, take, tap } from 'rxjs';
import type { OutboxOutcome } from '../outbox';
import type { PoolOptions } from '../pool';
import { poolOptions, resolveConnection } from './connect';
import { type ExitCode, exitCodeFor, replyExitCode, worstExitCode } from './exit-codes';
import type { CliIo } from './io';
import type { OutboxWorkCommand } from './outbox-args';
import { openOutbox } from './redis';
import { resolvePassword } from './password';
import { type ProgressEvent, createProgress } from './progress';
import { describeError } from './report';

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
    ...poolOptions(await resolveConnection(command, io), command.user, password),
    ...(command.connections !== undefined && { maxConnections: command.connections }),
  };
  const outbox = openOutbox(command);
  const progress = createProgress(io, undefined);
  const codes: ExitCode[] = [];
  const empty$ = outbox.counts$.pipe(filter((c) => c.waiting + c.active + c.delayed === 0));
  const stop$ = merge(fromEvent(process, 'SIGINT'), fromEvent(process, 'SIGTERM'), command.untilEmpty ? empty$ : NEVER).pipe(take(1));
  const work$ = outbox.work(pool, command.concurrency === undefined ? {} : { concurrency: command.concurrency });
  const done = lastValueFrom(work$.pipe(tap((outcome) => record(outcome, (event) => progress.record(event), codes))), { defaultValue: undefined });
  // Stopping is closing the outbox: the worker takes no more jobs, the ones it holds finish and
  // are shown, then work$ completes. (Unsubscribing would stop as well, but hide those last ones.)
  const stopper = stop$.subscribe({ next: () => void outbox.close(), error: () => undefined });
  try {
    await done;
  } finally {
    stopper.unsubscribe();
    await outbox.close();
    progress.finish();
  }
  return worstExitCode(codes);
}

/** Shows a mail's final fate, its refused recipients too; a transient failure that will be retried is not one yet. */
function record(outcome: OutboxOutcome, show: (event: ProgressEvent) => void, codes: ExitCode[]): void {
  const rejected = outcome.fate === 'delivered' ? outcome.delivery.rejected : outcome.rejected;
  const refused = rejected.map(({ recipient, reply }) => ({ recipient, detail: reply }));
  // A recipient refused is a mail not delivered as asked, as for `send`: 5xx for good, 4xx for now.
  const refusals = rejected.map(({ code }) => replyExitCode({ code, lines: [] }));
  if (outcome.fate === 'delivered') {
    show({ ok: true, label: `job ${outcome.id}`, to: outcome.delivery.accepted, detail: outcome.delivery.reply, refused });
    codes.push(...refusals);
    return;
  }
  if (outcome.fate === 'transient' && outcome.retry) return;
  const prefix = { permanent: '', transient: 'attempts used up: ', uncertain: 'uncertain, may have been delivered: ' }[outcome.fate];
  show({ ok: false, label: `job ${outcome.id}`, to: outcome.to, detail: prefix + describeError(outcome.error), refused });
  codes.push(exitCodeFor(outcome.error, false));
}
