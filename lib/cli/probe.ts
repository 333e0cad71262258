import { type Subscription, EMPTY, catchError, filter, lastValueFrom, take, tap } from 'rxjs';
import type { SessionState } from '../dialogue/transition';
import type { SmtpReply } from '../reply/reply';
import { sanitize } from '../reply/sanitize';
import { createSession } from '../session';
import type { ProbeCommand } from './args';
import { type ConnectProgress, resolveConnection, showTranscript, watchProgress } from './connect';
import { reportConnectFailure } from './connect-failure';
import { ExitCode, exitCodeFor } from './exit-codes';
import type { CliIo } from './io';
import { resolvePassword } from './password';
import { describeReply, reportError } from './report';

/**
 * Runs `rx-smtp probe`: connects, prints what the server showed (greeting, TLS, certificate
 * subject, capabilities before and after STARTTLS, AUTH mechanisms), and QUITs. With `--user` it
 * also logs in, to check the credentials (exit 77 when refused), and still sends no mail. Every
 * value is the server's text, sanitised.
 *
 * @example
 * ```ts
 * process.exitCode = await runProbe({ command: 'probe', server: 'smtp://localhost:2525', verbose: false }, io);
 * ```
 */
export async function runProbe(command: ProbeCommand, io: CliIo): Promise<ExitCode> {
  const password = await resolvePassword(command, io);
  const connection = await resolveConnection(command, io);
  const session = createSession(connection.options);
  const progress: ConnectProgress = { secure: false, authenticating: false };
  let mechanism: string | undefined;
  const subscriptions: Subscription[] = command.verbose ? [showTranscript(session, io)] : [];
  let greeting: SmtpReply | undefined;
  let beforeTls: ReadonlyMap<string, string> | undefined;
  subscriptions.push(session.replies$.pipe(take(1)).subscribe((reply) => (greeting = reply)));
  // Entering `starttls`, the capabilities are still the plain-text EHLO's; afterwards they are forgotten.
  subscriptions.push(
    session.state$.pipe(filter((s) => s.status === 'starttls')).subscribe(() => (beforeTls = new Map(session.capabilities ?? []))),
  );
  try {
    let state: SessionState;
    try {
      const states$ = session.connect(connection.server, command.user, password).pipe(
        watchProgress(progress),
        tap((s) => (mechanism = s.mechanism ?? mechanism)),
      );
      state = await lastValueFrom(states$);
    } catch (error) {
      return reportConnectFailure(io, error, progress, command, connection);
    }
    // The server may break the protocol right after the last EHLO reply (in the same read).
    const broken = session.state.error;
    if (broken !== undefined) {
      reportError(io, broken);
      return exitCodeFor(broken, false);
    }
    const lines: [string, string][] = [
      ['server', `${state.server?.host}:${state.server?.port}`],
      ['greeting', greeting === undefined ? '-' : describeReply(greeting)],
      ['tls', describeTls(state, beforeTls !== undefined)],
    ];
    if (state.tls?.subject !== undefined) lines.push(['certificate', state.tls.subject]);
    if (beforeTls !== undefined) lines.push(['before tls', describeCapabilities(beforeTls)]);
    const capabilities = session.capabilities ?? new Map<string, string>();
    lines.push(['capabilities', describeCapabilities(capabilities)]);
    lines.push(['auth', sanitize(capabilities.get('AUTH') ?? '') || 'none offered']);
    if (command.user !== undefined) lines.push(['login', `${sanitize(command.user, 80)} accepted (${mechanism ?? 'AUTH'})`]);
    const width = Math.max(...lines.map(([label]) => label.length)) + 2;
    for (const [label, value] of lines) io.stdout.write(`${`${label}:`.padEnd(width)}${value}\n`);
    await lastValueFrom(session.quit().pipe(catchError(() => EMPTY)), { defaultValue: undefined });
    return ExitCode.Ok;
  } finally {
    for (const subscription of subscriptions) subscription.unsubscribe();
    session.dispose();
  }
}

function describeTls(state: SessionState, upgraded: boolean): string {
  if (state.tls === undefined) return 'none';
  const how = upgraded ? 'STARTTLS' : 'implicit';
  const trust = state.tls.authorized ? 'certificate verified' : 'certificate NOT verified';
  return `${state.tls.protocol ?? 'TLS'} ${state.tls.cipher} (${how}, ${trust})`;
}

function describeCapabilities(capabilities: ReadonlyMap<string, string>): string {
  if (capabilities.size === 0) return 'none';
  return sanitize([...capabilities].map(([keyword, params]) => (params === '' ? keyword : `${keyword} ${params}`)).join(', '), 2048);
}
