import { type Observable, type ObservableInput, type Subscription, EMPTY, catchError, firstValueFrom, lastValueFrom } from 'rxjs';
import { SmtpError } from '../errors';
import type { Mail, SendResult } from '../mail/mail';
import type { SessionOptions } from '../options';
import { type PoolOptions, type PoolOutcome, createPool } from '../pool';
import { createSession, type SmtpSession } from '../session';
import type { SendCommand } from './args';
import { failedOnAuth, sessionOptions, showTranscript } from './connect';
import { type ExitCode, exitCodeFor, replyExitCode, worstExitCode } from './exit-codes';
import { type CliIo, InputError, assertReadable, readText } from './io';
import { DataError, type MailDefaults, composeMail, copies, mailsFromFile } from './mails';
import { resolvePassword } from './password';
import { type ProgressEvent, createProgress } from './progress';
import { describeError, describeReply, reportError } from './report';

/** swaks's habit: a message that says what it is, when the caller gave no text. */
const DEFAULT_BODY = 'This is a test message sent by rx-smtp.\n';
/** The Subject: of a message the caller gave none. */
const DEFAULT_SUBJECT = 'rx-smtp test';

/**
 * Runs `rx-smtp send`: one message through one session, or (`--count`, `--mails`) many, with
 * progress. Resolves with the exit status; errors are printed, never thrown, except for usage and
 * input errors, which `main` reports.
 *
 * @example
 * ```ts
 * process.exitCode = await runSend(parseCommandLine(process.argv.slice(2)) as SendCommand, io);
 * ```
 */
export async function runSend(command: SendCommand, io: CliIo): Promise<ExitCode> {
  const password = await resolvePassword(command, io);
  const defaults = await mailDefaults(command, io);
  if (command.mails !== undefined) await assertReadable(command.mails);
  const options = await sessionOptions(command, io);
  const session = createSession(options);
  const transcript: Subscription | undefined = command.verbose ? showTranscript(session, io) : undefined;
  try {
    // One connection first: a wrong password or server is one clear error, not one per message.
    try {
      await lastValueFrom(session.connect(command.server, command.user, password));
    } catch (error) {
      reportError(io, error);
      return exitCodeFor(error, failedOnAuth(error, session, command.tls));
    }
    if (command.count === undefined && command.mails === undefined) {
      const status = await sendOne(session, composeMail(defaults as Required<MailDefaults>), io);
      await quietly(session.quit());
      return status;
    }
    await quietly(session.quit());
    return await sendMany(command, options, password, mailsOf(command, defaults), io);
  } finally {
    transcript?.unsubscribe();
    session.dispose();
  }
}

/**
 * What the command line gives every mail: its recipients, sender, subject (default
 * {@link DEFAULT_SUBJECT}) and body (`--body`'s file or standard input, default {@link DEFAULT_BODY}).
 *
 * @example
 * ```ts
 * const mail = composeMail((await mailDefaults(command, io)) as Required<MailDefaults>);
 * ```
 */
export async function mailDefaults(command: { to: string[]; from?: string; subject?: string; body?: string }, io: CliIo): Promise<MailDefaults> {
  return {
    to: command.to,
    subject: command.subject ?? DEFAULT_SUBJECT,
    body: command.body === undefined ? DEFAULT_BODY : await readText(command.body, io),
    ...(command.from !== undefined && { from: command.from }),
  };
}

/**
 * The pool options of a command line: its session options, its server and its credentials.
 *
 * @example
 * ```ts
 * const pool = createPool(poolOptions(command, await sessionOptions(command, io), password));
 * ```
 */
export function poolOptions(command: { server: string; user?: string }, options: SessionOptions, password: string | undefined): PoolOptions {
  return {
    ...options,
    server: command.server,
    ...(command.user !== undefined && { username: command.user }),
    ...(password !== undefined && { password }),
  };
}

/**
 * The mails of a many-message command: the `--mails` file's, or `--count` copies.
 *
 * @example
 * ```ts
 * for await (const mail of mailsOf(command, defaults)) await outbox.add(mail);
 * ```
 */
export function mailsOf(command: { mails?: string; count?: number }, defaults: MailDefaults): Iterable<Mail> | AsyncIterable<Mail> {
  if (command.mails !== undefined) return mailsFromFile(command.mails, defaults);
  return copies(defaults as Required<MailDefaults>, command.count ?? 1);
}

/** One message: a line for the server's answer on stdout, one per refused recipient on stderr. */
async function sendOne(session: SmtpSession, mail: Mail, io: CliIo): Promise<ExitCode> {
  let result: SendResult;
  try {
    result = await firstValueFrom(session.send(mail));
  } catch (error) {
    reportError(io, error);
    return exitCodeFor(error, false);
  }
  io.stdout.write(`sent to ${result.accepted.join(', ')}: ${describeReply(result.reply)}\n`);
  for (const { recipient, reply } of result.rejected) io.stderr.write(`rx-smtp: refused ${recipient}: ${describeReply(reply)}\n`);
  // A recipient refused is a message not delivered as asked: the status says how it was refused.
  return worstExitCode(result.rejected.map(({ reply }) => replyExitCode(reply)));
}

/**
 * Many messages through a pool of connections, each shown as it ends; the status is the worst
 * failure's. Every mail ends as one line: sent, failed, or (its connection lost after its end of
 * data) uncertain, which the line says.
 */
async function sendMany(
  command: SendCommand,
  options: SessionOptions,
  password: string | undefined,
  mails: ObservableInput<Mail>,
  io: CliIo,
): Promise<ExitCode> {
  const progress = createProgress(io, command.count);
  const codes: ExitCode[] = [];
  const pool = createPool(poolOptions(command, options, password));
  const transcript = command.verbose
    ? pool.transcript$.subscribe((t) => io.stderr.write(`${t.connection} ${t.direction === 'client' ? 'C:' : 'S:'} ${t.line}\n`))
    : undefined;
  try {
    await pool.sendAll(mails).forEach((outcome) => {
      const [event, error] = describeOutcome(outcome);
      if (error !== undefined) codes.push(exitCodeFor(error, isAuthError(error)));
      progress.record(event);
    });
  } catch (error) {
    // A bad --mails line ends the run, after the mails before it; main reports it as the input error it is.
    const input = error instanceof Error ? inputError(error) : undefined;
    throw input ?? error;
  } finally {
    progress.finish();
    await lastValueFrom(pool.close(), { defaultValue: undefined });
    transcript?.unsubscribe();
  }
  if (progress.failed > 0) io.stderr.write(`rx-smtp: ${progress.failed} of ${progress.sent + progress.failed} messages failed\n`);
  return worstExitCode(codes);
}

function describeOutcome(outcome: PoolOutcome): [ProgressEvent, unknown?] {
  if (outcome.ok) return [{ ok: true, to: outcome.result.accepted, detail: describeReply(outcome.result.reply) }];
  const prefix = outcome.failure === 'uncertain' ? 'uncertain, may have been delivered: ' : '';
  return [failure(outcome.mail, outcome.error, prefix), outcome.error];
}

/** The input's own error (an unreadable or malformed --mails file), wrapped by the pool as EIO. */
function inputError(error: Error): Error | undefined {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof DataError || cause instanceof InputError) return cause;
  }
  return undefined;
}

function failure(mail: Mail, error: unknown, prefix: string): ProgressEvent {
  return { ok: false, to: typeof mail.to === 'string' ? [mail.to] : mail.to, detail: prefix + describeError(error) };
}

/** An outcome's error is about the credentials when it answered an AUTH command (a pool connects per mail). */
function isAuthError(error: unknown): boolean {
  return error instanceof SmtpError && error.command?.startsWith('AUTH') === true;
}

/** QUIT, ignoring how it went: the messages' fate is already known. */
async function quietly(quit$: Observable<unknown>): Promise<void> {
  await lastValueFrom(quit$.pipe(catchError(() => EMPTY)), { defaultValue: undefined });
}
