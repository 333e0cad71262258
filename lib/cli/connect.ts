import { rootCertificates } from 'node:tls';
import type { Subscription } from 'rxjs';
import { SmtpError } from '../errors';
import type { SessionOptions, TlsMode } from '../options';
import type { SmtpSession } from '../session';
import type { TranscriptLine } from '../transport/transcript';
import { type CliIo, readText } from './io';

/** Seconds → the library's milliseconds. */
const MS_PER_SECOND = 1000;

/**
 * The session options a command line asks for: `--tls`, `--timeout` (seconds), and `--ca`, whose
 * certificates are trusted in addition to Node's bundled roots, not instead of them.
 *
 * @example
 * ```ts
 * const session = createSession(await sessionOptions({ tls: 'implicit', ca: 'ca.pem' }, io));
 * ```
 */
export async function sessionOptions(command: { tls?: TlsMode; ca?: string; timeout?: number }, io: CliIo): Promise<SessionOptions> {
  const options: SessionOptions = {};
  if (command.tls !== undefined) options.tls = command.tls;
  if (command.timeout !== undefined) options.timeout = command.timeout * MS_PER_SECOND;
  if (command.ca !== undefined) options.tlsOptions = { ca: [...rootCertificates, await readText(command.ca, io)] };
  return options;
}

/**
 * Prints the session's transcript on standard error as it happens (`--verbose`): `C:` lines sent,
 * `S:` lines received. AUTH payloads are already `[redacted]` by the session.
 *
 * @example
 * ```ts
 * const subscription = showTranscript(session, io);
 * ```
 */
export function showTranscript(session: SmtpSession, io: CliIo): Subscription {
  return session.transcript$.subscribe((t: TranscriptLine) => io.stderr.write(`${t.direction === 'client' ? 'C:' : 'S:'} ${t.line}\n`));
}

/**
 * True when a connect failed on the credentials rather than on the connection: a 4xx/5xx to AUTH,
 * or ENOTSUP because no offered mechanism (or no TLS) allowed them to be sent. The one other
 * ENOTSUP of a connect, `starttls-required` without STARTTLS, is told apart by the capabilities.
 *
 * @example
 * ```ts
 * exitCodeFor(error, failedOnAuth(error, session, command.tls));
 * ```
 */
export function failedOnAuth(error: unknown, session: SmtpSession, tls: TlsMode | undefined): boolean {
  if (!(error instanceof SmtpError)) return false;
  if (error.code === 'ESERVERPERM' || error.code === 'ESERVERTEMP') return error.command?.startsWith('AUTH') === true;
  if (error.code !== 'ENOTSUP') return false;
  return !(tls === 'starttls-required' && session.capabilities?.has('STARTTLS') !== true);
}
