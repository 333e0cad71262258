import { SmtpError } from '../errors';
import type { ConnectionCommand } from './flags';
import { type Connection, type ConnectProgress, failedOnAuth } from './connect';
import { ExitCode, exitCodeFor } from './exit-codes';
import type { CliIo } from './io';
import { reportError } from './report';

// What OpenSSL says when the bytes it reads as a TLS record are an SMTP greeting in plain text.
const PLAIN_TEXT_FOR_TLS = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|wrong version number|packet length too long|unknown protocol/i;

/**
 * Reports a failed connect on standard error and gives its exit status. Two mistakes get their
 * own words: implicit TLS against a port that answers in plain text (exit 78, EX_CONFIG), and a
 * password that would have gone in clear text (the flags that fix it, not the library's option).
 *
 * @example
 * ```ts
 * return reportConnectFailure(io, error, progress, command, connection);
 * ```
 */
export function reportConnectFailure(io: CliIo, error: unknown, progress: ConnectProgress, command: ConnectionCommand, connection: Connection): ExitCode {
  if (error instanceof SmtpError && connection.implicitTls && PLAIN_TEXT_FOR_TLS.test(`${error.code} ${error.message}`)) {
    io.stderr.write(`rx-smtp: ${error.code}: no TLS answered: is this a STARTTLS port? try --tls starttls\n`);
    return ExitCode.Config;
  }
  const auth = failedOnAuth(error, progress, command);
  if (auth && error instanceof SmtpError && error.code === 'ENOTSUP' && !progress.secure && !command.allowInsecureAuth) {
    io.stderr.write(
      'rx-smtp: ENOTSUP the connection has no TLS (the server offered no STARTTLS, or --tls none), and the password is never sent in clear text: ' +
        'use TLS (--tls implicit on a TLS port), or --allow-insecure-auth for a test server\n',
    );
    return ExitCode.NoPerm;
  }
  reportError(io, error);
  return exitCodeFor(error, auth);
}
