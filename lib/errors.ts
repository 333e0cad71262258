import type { Mail, SendResult } from './mail/mail';
import { formatReply, type SmtpReply } from './reply/reply';
import { sanitize } from './reply/sanitize';

/**
 * The stable error codes that rx-smtp itself produces. Socket and TLS errors keep their own codes
 * (`ECONNREFUSED`, `ECONNRESET`, `DEPTH_ZERO_SELF_SIGNED_CERT`, ...).
 */
export type SmtpErrorCode =
  | 'EINVAL' // bad argument, option or session (detected before anything is written)
  | 'EISCONN' // the session is already connected
  | 'EINPROGRESS' // a connect (or transaction) is already running on this session
  | 'EPERM' // the call needs a state the session is not in
  | 'ESERVERPERM' // the server answered 5xx
  | 'ESERVERTEMP' // the server answered 4xx
  | 'ESERVERSYNC' // client and server are out of step; the session was closed
  | 'ETIMEDOUT' // no complete reply in time
  | 'ESHUTDOWN' // the server closed the connection unexpectedly
  | 'ENOTSUP' // the request needs something the server does not offer
  | 'EPROTO' // the server broke the authentication protocol (e.g. a wrong SCRAM server signature)
  | 'EMSGSIZE' // the message is larger than the server accepts
  | 'ECANCELED'; // an AbortSignal aborted the call (or the session)

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
  /** A stable code: one of {@link SmtpErrorCode}, or a socket/TLS error's own code. */
  readonly code: string;
  /** The server reply behind the error, if any. */
  readonly reply?: SmtpReply;
  /** The command the reply answered, redacted. */
  readonly command?: string;

  constructor(code: string, message: string, details: SmtpErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SmtpError';
    this.code = code;
    if (details.reply !== undefined) this.reply = details.reply;
    if (details.command !== undefined) this.command = details.command;
  }
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

/** Wraps a socket or TLS error, keeping its own code (or EIO when it has none). */
export function socketError(err: Error & { code?: string }): SmtpError {
  if (err instanceof SmtpError) return err;
  return new SmtpError(err.code ?? 'EIO', err.message, { cause: err });
}

/** True for errors after which the client and server can still talk (so QUIT is worth sending). */
export function isInSync(err: unknown): boolean {
  return err instanceof SmtpError && (err.code === 'ESERVERPERM' || err.code === 'ESERVERTEMP' || err.code === 'ENOTSUP');
}

/**
 * The error that ends a `sendAll` when the session itself failed (`ESHUTDOWN`, `ETIMEDOUT`,
 * `ESERVERSYNC`, a socket error...). It accounts for every mail that had no outcome yet, so a caller
 * can retry exactly the right ones: `notSent` are safe to send again, `uncertain` may have been
 * delivered.
 *
 * @example
 * ```ts
 * session.sendAll(mails).subscribe({
 *   error: (err) => {
 *     if (err instanceof SendAllError) retry(err.notSent);
 *   },
 * });
 * ```
 */
export class SendAllError extends SmtpError {
  /** Mails the server accepted (each was also emitted as an outcome). */
  readonly delivered: readonly SendResult[];
  /** Mails whose end of data was sent but whose final reply never came: they may have been delivered. */
  readonly uncertain: readonly Mail[];
  /** Mails whose end of data was never sent, even if their MAIL/RCPT went out: safe to retry. */
  readonly notSent: readonly Mail[];

  constructor(
    cause: SmtpError,
    accounts: {
      delivered: readonly SendResult[];
      uncertain: readonly Mail[];
      notSent: readonly Mail[];
    },
  ) {
    super(
      cause.code,
      `${cause.message} (delivered ${accounts.delivered.length}, uncertain ${accounts.uncertain.length}, not sent ${accounts.notSent.length})`,
      { cause, ...(cause.reply && { reply: cause.reply }), ...(cause.command !== undefined && { command: cause.command }) },
    );
    this.name = 'SendAllError';
    this.delivered = accounts.delivered;
    this.uncertain = accounts.uncertain;
    this.notSent = accounts.notSent;
  }
}
