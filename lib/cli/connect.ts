import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { type Observable, type Subscription, tap } from 'rxjs';
import { IMPLICIT_TLS_PORT, type ServerAddress, parseServerAddress } from '../address';
import type { SessionState } from '../dialogue/transition';
import { isSmtpErrorCode } from '../error-codes';
import { SmtpError } from '../errors';
import type { SessionOptions } from '../options';
import type { PoolOptions } from '../pool';
import type { SmtpSession } from '../session';
import type { TranscriptLine } from '../transport/transcript';
import type { ConnectionCommand } from './flags';
import { type CliIo, readText } from './io';

/** Where to connect and with which session options: what a command line asks for, resolved. */
export interface Connection {
  server: ServerAddress;
  options: SessionOptions;
  /** TLS from the first byte: `--tls implicit`, an `smtps://` URL or port 465. */
  implicitTls: boolean;
}

/**
 * The server and session options a command line asks for: `--port` over the URL's, `-4`/`-6` by
 * resolving the host here (the certificate is still checked against the name), `--tls`,
 * `--timeout`, `--ehlo`, `--protocol`, `--auth`, `--allow-insecure-auth`, and `--ca`, whose
 * certificates are trusted in addition to Node's bundled roots, not instead of them; `--insecure`
 * turns verification off and says so on standard error.
 *
 * @example
 * ```ts
 * const { server, options } = await resolveConnection(command, io);
 * await lastValueFrom(createSession(options).connect(server, command.user, password));
 * ```
 */
export async function resolveConnection(command: ConnectionCommand, io: CliIo): Promise<Connection> {
  const target = parseServerAddress(command.server);
  const port = command.port ?? target.port;
  const options: SessionOptions = {};
  // An smtps:// URL means implicit TLS whatever the port: kept as the server becomes { host, port }.
  const tls = command.tls ?? (target.implicitTls || port === IMPLICIT_TLS_PORT ? 'implicit' : undefined);
  if (tls !== undefined) options.tls = tls;
  if (command.timeout !== undefined) options.timeout = command.timeout;
  if (command.ehlo !== undefined) options.clientName = command.ehlo;
  if (command.lmtp) options.lmtp = true;
  if (command.auth !== undefined) options.authMechanisms = [command.auth];
  if (command.allowInsecureAuth) options.allowInsecureAuth = true;
  const tlsOptions: NonNullable<SessionOptions['tlsOptions']> = {};
  if (command.ca !== undefined) tlsOptions.ca = [...rootCertificates, await readText(command.ca, io)];
  if (command.insecure) {
    tlsOptions.rejectUnauthorized = false;
    io.stderr.write("rx-smtp: WARNING: --insecure: the server's certificate is NOT verified; anyone between here and the server can read and change this session, password included\n");
  }
  let host = target.host;
  if (command.family !== undefined && isIP(host) === 0) {
    // The name is still what the certificate must name (and the SNI).
    tlsOptions.servername = host;
    host = (await resolve(host, command.family)).address;
  }
  if (Object.keys(tlsOptions).length > 0) options.tlsOptions = tlsOptions;
  return { server: { host, port }, options, implicitTls: tls === 'implicit' };
}

/**
 * The options of a pool to the resolved server, logging in as `user` (many messages go through one).
 *
 * @example
 * ```ts
 * const pool = createPool(poolOptions(await resolveConnection(command, io), command.user, password));
 * ```
 */
export function poolOptions(connection: Connection, user: string | undefined, password: string | undefined): PoolOptions {
  return {
    ...connection.options,
    server: connection.server,
    ...(user !== undefined && { username: user }),
    ...(password !== undefined && { password }),
  };
}

async function resolve(host: string, family: 4 | 6): Promise<{ address: string }> {
  try {
    return await lookup(host, { family });
  } catch (err) {
    const found = (err as { code?: string }).code ?? 'ENOTFOUND';
    const code = isSmtpErrorCode(found) ? found : 'ENOTFOUND';
    throw new SmtpError(code, `${host} has no IPv${family} address (${found})`, { cause: err });
  }
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

/** How far a connect got, for telling a refused login from a refused connection. */
export interface ConnectProgress {
  /** The session upgraded with STARTTLS (or spoke TLS from the start). */
  secure: boolean;
  /** AUTH was sent. */
  authenticating: boolean;
}

/**
 * Records how far a connect gets as its states pass by.
 *
 * @example
 * ```ts
 * const progress: ConnectProgress = { secure: false, authenticating: false };
 * await lastValueFrom(session.connect(server).pipe(watchProgress(progress)));
 * ```
 */
export function watchProgress(progress: ConnectProgress): (source$: Observable<SessionState>) => Observable<SessionState> {
  return tap((state) => {
    if (state.secure) progress.secure = true;
    if (state.status === 'authenticating') progress.authenticating = true;
  });
}

/**
 * True when a connect failed on the credentials rather than on the connection: a 4xx/5xx to AUTH,
 * or ENOTSUP because no offered mechanism (or no TLS) allowed them to be sent. The one other
 * ENOTSUP of a connect, `starttls-required` without STARTTLS, comes before any TLS.
 *
 * @example
 * ```ts
 * exitCodeFor(error, failedOnAuth(error, progress, command));
 * ```
 */
export function failedOnAuth(error: unknown, progress: ConnectProgress, command: ConnectionCommand): boolean {
  if (!(error instanceof SmtpError) || command.user === undefined) return false;
  if (error.code === 'ESERVERPERM' || error.code === 'ESERVERTEMP' || error.code === 'EPROTO') return progress.authenticating;
  if (error.code !== 'ENOTSUP') return false;
  return !(command.tls === 'starttls-required' && !progress.secure);
}
