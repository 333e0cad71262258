import { type Observable, type Subscription, EMPTY, catchError, firstValueFrom, lastValueFrom } from 'rxjs';
import type { Mail, SendOutcome, SendResult } from '../mail/mail';
import { createPool } from '../pool';
import { createSession, type SmtpSession } from '../session';
import type { SendCommand } from './args';
import { type Connection, type ConnectProgress, poolOptions, resolveConnection, showTranscript, watchProgress } from './connect';
import { reportConnectFailure } from './connect-failure';
import { type ExitCode, exitCodeFor, replyExitCode, worstExitCode } from './exit-codes';
import { type CliIo, InputError, assertReadable, readBytes, readText } from './io';
import type { MessageCommand } from './flags';
import { DataError, type LabelledMail, type MailDefaults, checkMailsFile, copies, mailsFromFile } from './mails';
import { resolvePassword } from './password';
import { type ProgressEvent, createProgress } from './progress';
import { describeError, describeReply, reportError } from './report';

/** swaks's habit: a message that says what it is, when the caller gave no text. */
const DEFAULT_BODY = 'This is a test message sent by rx-smtp.\n';
const DEFAULT_SUBJECT = 'rx-smtp test';

/**
 * Runs `rx-smtp send`: one message through one session, or (`--count`, `--mails`) many through a
 * pool, with progress. Everything that can be checked first is (the password, the files, every
 * `--mails` line) before anything connects. Resolves with the exit status; errors are printed,
 * never thrown, except for usage and input errors, which `main` reports.
 *
 * @example
 * ```ts
 * process.exitCode = await runSend(parseCommandLine(process.argv.slice(2)) as SendCommand, io);
 * ```
 */
export async function runSend(command: SendCommand, io: CliIo): Promise<ExitCode> {
  const password = await resolvePassword(command, io);
  const source = await mailSource(command, io);
  const connection = await resolveConnection(command, io);
  const session = createSession(connection.options);
  const transcript: Subscription | undefined = command.verbose ? showTranscript(session, io) : undefined;
  try {
    // One connection first: a wrong password or server is one clear error, not one per message.
    const progress: ConnectProgress = { secure: false, authenticating: false };
    try {
      await lastValueFrom(session.connect(connection.server, command.user, password).pipe(watchProgress(progress)));
    } catch (error) {
      return reportConnectFailure(io, error, progress, command, connection);
    }
    if (command.count === undefined && command.mails === undefined) {
      const first = await source().next();
      const status = await sendOne(session, (first.value as LabelledMail).mail, io);
      await quietly(session.quit());
      return status;
    }
    await quietly(session.quit());
    return await sendMany(command, connection, password, source(), io);
  } finally {
    transcript?.unsubscribe();
    session.dispose();
  }
}

/**
 * The mails to send, checked now and built as they are sent: `--data` as it is, `--mails` line by
 * line (every line checked first), or the message of the command line (`--count` copies of it).
 *
 * @example
 * ```ts
 * for await (const { mail } of (await mailSource(command, io))()) await outbox.add(mail);
 * ```
 */
export async function mailSource(command: MessageCommand, io: CliIo): Promise<() => AsyncGenerator<LabelledMail>> {
  if (command.data !== undefined) {
    const raw = await readBytes(command.data, io);
    const mail: Mail = { from: command.from!, to: command.to, body: raw };
    return async function* () {
      for (let i = 1; i <= (command.count ?? 1); i++) yield { mail: { ...mail }, label: `copy ${i}` };
    };
  }
  for (const path of command.attach) await assertReadable(path);
  const defaults: MailDefaults = {
    to: command.to,
    subject: command.subject ?? DEFAULT_SUBJECT,
    body: await bodyText(command.body, io),
    headers: command.headers,
    attach: command.attach,
    ...(command.from !== undefined && { from: command.from }),
  };
  const mails = command.mails;
  if (mails !== undefined) {
    await checkMailsFile(mails, defaults);
    return () => mailsFromFile(mails, defaults);
  }
  const fields = defaults as Required<MailDefaults>;
  return () => copies(fields, command.count ?? 1);
}

/** `--body`: the text as given, `@FILE`, or `-` for standard input (as swaks reads it). */
async function bodyText(body: string | undefined, io: CliIo): Promise<string> {
  if (body === undefined) return DEFAULT_BODY;
  if (body === '-') return readText('-', io);
  if (body.startsWith('@')) return readText(body.slice(1), io);
  return body;
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
 * Many messages through a pool of connections, each shown as it ends (by its `--mails` line), its
 * refused recipients too; the status is the worst failure's or refusal's. Every mail ends as one
 * line: sent, failed, or (its connection lost after its end of data) uncertain, which the line says.
 */
async function sendMany(command: SendCommand, connection: Connection, password: string | undefined, source: AsyncGenerator<LabelledMail>, io: CliIo): Promise<ExitCode> {
  const progress = createProgress(io, command.count);
  const codes: ExitCode[] = [];
  const labels = new Map<Mail, string>();
  const pool = createPool(poolOptions(connection, command.user, password));
  const transcript = command.verbose
    ? pool.transcript$.subscribe((t) => io.stderr.write(`${t.connection} ${t.direction === 'client' ? 'C:' : 'S:'} ${t.line}\n`))
    : undefined;
  async function* mails(): AsyncGenerator<Mail> {
    for await (const { mail, label } of source) {
      if (command.mails !== undefined) labels.set(mail, label);
      yield mail;
    }
  }
  try {
    await pool.sendAll(mails()).forEach((outcome) => {
      const event = describeOutcome(outcome, labels);
      codes.push(...event.codes);
      progress.record(event);
    });
  } catch (error) {
    // A --mails file that fails while being read ends the run, after the mails before it.
    const input = error instanceof Error ? inputError(error) : undefined;
    throw input ?? error;
  } finally {
    progress.finish();
    await lastValueFrom(pool.close(), { defaultValue: undefined });
    transcript?.unsubscribe();
  }
  if (progress.failed > 0) io.stderr.write(`rx-smtp: ${progress.failed} of ${progress.sent + progress.failed} messages failed\n`);
  if (progress.refused > 0) io.stderr.write(`rx-smtp: ${progress.refused} recipients refused\n`);
  return worstExitCode(codes);
}

/**
 * What the display shows of one outcome, and the exit statuses it adds. The one place the command
 * line reads an outcome's shape, which is the session's and may change with it.
 */
function describeOutcome(outcome: SendOutcome & { failure?: string }, labels: ReadonlyMap<Mail, string>): ProgressEvent & { codes: ExitCode[] } {
  const mail = outcome.mail;
  const label = labels.get(mail);
  if (outcome.ok) {
    const { result } = outcome;
    const refused = result.rejected.map(({ recipient, reply }) => ({ recipient, detail: describeReply(reply) }));
    return { ok: true, label, to: result.accepted, detail: describeReply(result.reply), refused, codes: result.rejected.map(({ reply }) => replyExitCode(reply)) };
  }
  const prefix = outcome.failure === 'uncertain' ? 'uncertain, may have been delivered: ' : '';
  const to = typeof mail.to === 'string' ? [mail.to] : mail.to;
  const refused = (outcome.rejected ?? []).map(({ recipient, reply }) => ({ recipient, detail: describeReply(reply) }));
  return { ok: false, label, to, detail: prefix + describeError(outcome.error), refused, codes: [exitCodeFor(outcome.error, isAuthError(outcome.error))] };
}

/** The input's own error (a --mails file that became unreadable), wrapped by the pool as EIO. */
function inputError(error: Error): Error | undefined {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof DataError || cause instanceof InputError) return cause;
  }
  return undefined;
}

/** An outcome's error is about the credentials when it answered an AUTH command (a pool connects per mail). */
function isAuthError(error: { command?: string }): boolean {
  return error.command?.startsWith('AUTH') === true;
}

/** QUIT, ignoring how it went: the messages' fate is already known. */
async function quietly(quit$: Observable<unknown>): Promise<void> {
  await lastValueFrom(quit$.pipe(catchError(() => EMPTY)), { defaultValue: undefined });
}

