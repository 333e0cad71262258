import { type Observable, type ObservableInput, type Subscription, EMPTY, catchError, firstValueFrom, lastValueFrom } from 'rxjs';
import { SendAllError, SmtpError } from '../errors';
import type { Mail, SendOutcome, SendResult } from '../mail/mail';
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
  const defaults: MailDefaults = {
    to: command.to,
    subject: command.subject ?? DEFAULT_SUBJECT,
    body: command.body === undefined ? DEFAULT_BODY : await readText(command.body, io),
    ...(command.from !== undefined && { from: command.from }),
  };
  if (command.mails !== undefined) await assertReadable(command.mails);
  const session = createSession(await sessionOptions(command, io));
  const transcript: Subscription | undefined = command.verbose ? showTranscript(session, io) : undefined;
  try {
    try {
      await lastValueFrom(session.connect(command.server, command.user, password));
    } catch (error) {
      reportError(io, error);
      return exitCodeFor(error, failedOnAuth(error, session, command.tls));
    }
    const many = command.count !== undefined || command.mails !== undefined;
    const status = many
      ? await sendMany(session, mailsOf(command, defaults), io, command.count)
      : await sendOne(session, composeMail(defaults as Required<MailDefaults>), io);
    await quietly(session.quit());
    return status;
  } finally {
    transcript?.unsubscribe();
    session.dispose();
  }
}

function mailsOf(command: SendCommand, defaults: MailDefaults): ObservableInput<Mail> {
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
 * Many messages, each shown as it ends; the status is the worst failure's. A session that fails
 * part-way leaves its remaining mails as failures with its error (uncertain ones included: they
 * may or may not have been delivered, and the line says so).
 */
async function sendMany(session: SmtpSession, mails: ObservableInput<Mail>, io: CliIo, total: number | undefined): Promise<ExitCode> {
  const progress = createProgress(io, total);
  const codes: ExitCode[] = [];
  const record = (event: ProgressEvent, error?: unknown): void => {
    if (error !== undefined) codes.push(exitCodeFor(error, isAuthError(error)));
    progress.record(event);
  };
  try {
    await session.sendAll(mails).forEach((outcome) => record(...describeOutcome(outcome)));
  } catch (error) {
    if (!(error instanceof SendAllError)) throw error;
    for (const mail of error.uncertain) record(failure(mail, error, 'uncertain, may have been delivered: '), error);
    for (const mail of error.notSent) record(failure(mail, error, 'not sent: '), error);
    // A bad --mails line ends the run; main reports it as the input error it is.
    const input = inputError(error);
    if (input !== undefined) throw input;
  } finally {
    progress.finish();
  }
  if (progress.failed > 0) io.stderr.write(`rx-smtp: ${progress.failed} of ${progress.sent + progress.failed} messages failed\n`);
  return worstExitCode(codes);
}

function describeOutcome(outcome: SendOutcome): [ProgressEvent, unknown?] {
  if (outcome.ok) return [{ ok: true, to: outcome.result.accepted, detail: describeReply(outcome.result.reply) }];
  return [failure(outcome.mail, outcome.error, ''), outcome.error];
}

/** The input's own error (an unreadable or malformed --mails file), wrapped by the session as EIO. */
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
