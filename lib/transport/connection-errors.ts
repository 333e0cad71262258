import { SmtpError } from '../errors';
import type { ReadyEvent } from './socket';

/**
 * How a connection says why it ended or stopped waiting, in one place: each error names the wait
 * it ended and, where there was one, the command whose reply never came (`command`).
 *
 * @example
 * ```ts
 * waiter.to.error(shutdownError('MAIL FROM:<a@example.com>'));
 * ```
 */

/** The server closed the connection; `head` is the oldest command still waiting for its reply. */
export function shutdownError(head: string | undefined): SmtpError {
  return new SmtpError(
    'ESHUTDOWN',
    `the server closed the connection${head === undefined ? '' : ` while waiting for the reply to ${head}`}`,
    head === undefined ? {} : { command: head },
  );
}

/** No complete reply to `head` (undefined: the greeting) within `ms`. */
export function replyTimeoutError(head: string | undefined, ms: number): SmtpError {
  const what = head === undefined ? '(greeting)' : `to ${head}`;
  return new SmtpError('ETIMEDOUT', `no complete reply ${what} within ${ms} ms`, head === undefined ? {} : { command: head });
}

/** The TCP connect (or TLS handshake) did not complete within `ms`. */
export function readyTimeoutError(readyEvent: ReadyEvent, ms: number): SmtpError {
  return new SmtpError('ETIMEDOUT', `${readyEvent === 'connect' ? 'TCP connect' : 'TLS handshake'} did not complete within ${ms} ms`);
}

/** A congested socket did not drain within `ms`: the server stopped reading. */
export function stalledError(ms: number): SmtpError {
  return new SmtpError('ETIMEDOUT', `the server read nothing for ${ms} ms`);
}

/**
 * OpenSSL's words for bytes that are no TLS record: a record header of text (its version bytes are
 * not 3.x), or text that reads as a plain-HTTP request.
 */
const NOT_A_RECORD: ReadonlySet<string> = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_HTTP_REQUEST', 'ERR_SSL_PACKET_LENGTH_TOO_LONG']);

/**
 * A failure during the handshake after STARTTLS, as the client reports it: where TLS found no
 * record in what the server sent, the server (or someone on the path) wrote text after the 220 —
 * response injection — so `ESERVERSYNC`, with the TLS error as its cause; any other error as it is.
 */
export function upgradeError(error: SmtpError): SmtpError {
  if (!NOT_A_RECORD.has(error.code)) return error;
  return new SmtpError('ESERVERSYNC', 'bytes that are not TLS after the reply to STARTTLS: response injection refused', { cause: error.cause });
}
