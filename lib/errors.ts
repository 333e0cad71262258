export type { SmtpErrorCode } from './error-codes';
import { type SmtpErrorCode, isSmtpErrorCode } from './error-codes';
import { formatReply, type SmtpReply } from './reply/reply';
import { sanitize } from './reply/sanitize';

/** Everything an {@link SmtpError} is made from; it is complete when created and never patched. */
export interface SmtpErrorDetails {
  /** The server reply that caused the error, when there was one. */
  reply?: SmtpReply;
  /** The command that the reply answered, with any secret replaced by `[redacted]`. */
  command?: string;
  /** The underlying error (socket, TLS, stream). */
  cause?: unknown;
}

/**
 * The one error class of rx-smtp. `code` is stable and is what callers should branch on.
 *
 * @example
 * ```ts
 * session.connect('smtp://mail.example.com:587', 'alice', 'secret').subscribe({
 *   error: (err: SmtpError) => {
 *     if (err.code === 'ESERVERPERM') console.log('refused:', err.reply?.code);
 *   },
 * });
 * ```
 */
export class SmtpError extends Error {
  /** A stable code: see {@link SmtpErrorCode}. */
  readonly code: SmtpErrorCode;
  /** The server reply behind the error, if any. */
  readonly reply?: SmtpReply;
  /** The command the reply answered, redacted. */
  readonly command?: string;

  constructor(code: SmtpErrorCode, message: string, details: SmtpErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SmtpError';
    this.code = code;
    if (details.reply !== undefined) this.reply = details.reply;
    if (details.command !== undefined) this.command = details.command;
  }
}

/**
 * An `EINVAL` {@link SmtpError}: a bad argument, option or mail, found before anything is written.
 *
 * @example
 * ```ts
 * if (port < 1 || port > 65535) throw invalid(`port must be 1..65535, got ${port}`);
 * ```
 */
export function invalid(message: string): SmtpError {
  return new SmtpError('EINVAL', message);
}

/**
 * Creates the error for a server reply, its class deciding the code: 4xx → ESERVERTEMP,
 * 5xx → ESERVERPERM, anything else → ESERVERSYNC (a code the command cannot take).
 */
export function replyError(reply: SmtpReply, command: string | undefined): SmtpError {
  const text = sanitize(formatReply(reply).join(' | '));
  const after = command === undefined ? '' : ` to ${sanitize(command, 80)}`;
  const first = Math.floor(reply.code / 100);
  if (first === 4) return new SmtpError('ESERVERTEMP', `Temporary failure${after}: ${text}`, { reply, command });
  if (first === 5) return new SmtpError('ESERVERPERM', `Permanent failure${after}: ${text}`, { reply, command });
  return new SmtpError('ESERVERSYNC', `Unexpected reply${after}: ${text}`, { reply, command });
}

/** Wraps a socket or TLS error, keeping its own code when it is a known one (else `EIO`, the error kept as the cause). */
export function socketError(err: Error & { code?: string }): SmtpError {
  if (err instanceof SmtpError) return err;
  const code = err.code !== undefined && isSmtpErrorCode(err.code) ? err.code : 'EIO';
  return new SmtpError(code, err.message, { cause: err });
}

/** True for errors after which the client and server can still talk (so QUIT is worth sending). */
export function isInSync(err: unknown): boolean {
  return err instanceof SmtpError && (err.code === 'ESERVERPERM' || err.code === 'ESERVERTEMP' || err.code === 'ENOTSUP');
}

/**
 * Any thrown value as an {@link SmtpError}: itself when it is one, else `EIO` with it as the cause.
 *
 * @example
 * ```ts
 * catchError((err) => throwError(() => asSmtpError(err)));
 * ```
 */
export function asSmtpError(err: unknown): SmtpError {
  return err instanceof SmtpError ? err : new SmtpError('EIO', err instanceof Error ? err.message : String(err), { cause: err });
}
