/**
 * rx-smtp's own error codes, each with when it happens.
 *
 * - `EINVAL`: a bad argument, option, mail or session (a disposed one); detected before anything is written.
 * - `EISCONN`: `connect()` on a session that is already connected.
 * - `EINPROGRESS`: `connect()` while a connect is running.
 * - `EPERM`: the call needs a state the session (or pool) is not in: not connected, quitting, closing.
 * - `ESERVERPERM`: the server answered 5xx.
 * - `ESERVERTEMP`: the server answered 4xx (421 included: it closes the connection).
 * - `ESERVERSYNC`: client and server are out of step (a code the command cannot take, a malformed or
 *   oversized reply, a reply to no command, injected bytes); the session was closed.
 * - `ETIMEDOUT`: no complete reply, connect, handshake or drain in time.
 * - `ESHUTDOWN`: the server closed the connection unexpectedly.
 * - `ENOTSUP`: the request needs something the server does not offer (AUTH, STARTTLS, SMTPUTF8, DSN).
 * - `EPROTO`: the server broke the authentication protocol (a wrong SCRAM server signature).
 * - `EMSGSIZE`: the message is larger than the server accepts.
 * - `ECANCELED`: an `AbortSignal` aborted the call (or the session, or the pool).
 * - `EIO`: a body or mail input failed, or something failed that has no code of its own.
 * - `EOWNERDEAD`: (`rx-smtp/outbox`) the worker that held a job stopped after marking it for its
 *   end of data: the mail may have been delivered, so it is uncertain and not sent again.
 */
export const SMTP_ERROR_CODES = [
  'EINVAL',
  'EISCONN',
  'EINPROGRESS',
  'EPERM',
  'ESERVERPERM',
  'ESERVERTEMP',
  'ESERVERSYNC',
  'ETIMEDOUT',
  'ESHUTDOWN',
  'ENOTSUP',
  'EPROTO',
  'EMSGSIZE',
  'ECANCELED',
  'EIO',
  'EOWNERDEAD',
] as const;

/** One of rx-smtp's own codes: see {@link SMTP_ERROR_CODES} for when each happens. */
export type RxSmtpCode = (typeof SMTP_ERROR_CODES)[number];

/**
 * The system error codes a socket can fail with (libuv's, as `os.constants.errno` names them, and
 * the resolver's `EAI_*`), passed through as they are.
 */
export const SOCKET_ERROR_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EADDRINUSE',
  'EADDRNOTAVAIL',
  'EAFNOSUPPORT',
  'EACCES',
  'EMFILE',
  'ENFILE',
  'ENOBUFS',
  'ENOMEM',
  'ENOTCONN',
  'EALREADY',
  'EAGAIN',
] as const;

/**
 * OpenSSL's certificate verification codes as Node reports them: a certificate that fails now
 * fails on every retry until someone changes it or the trust.
 */
export const CERTIFICATE_ERROR_CODES = [
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'OUT_OF_MEM',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
] as const;

/**
 * Every code an {@link SmtpError} can carry: rx-smtp's own ({@link RxSmtpCode}), a socket's
 * (`ECONNREFUSED`...), a certificate's (`DEPTH_ZERO_SELF_SIGNED_CERT`...), or Node's own `ERR_*`
 * codes (`ERR_TLS_CERT_ALTNAME_INVALID`, `ERR_SSL_WRONG_VERSION_NUMBER`...). A socket error with any
 * other code becomes `EIO`, its own error kept as the `cause`. A closed set, so that a misspelt
 * code in a comparison fails to compile.
 *
 * @example
 * ```ts
 * if (err.code === 'ESERVERTEMP') retryLater(); // 'ESERVERTMP' would not compile
 * ```
 */
export type SmtpErrorCode =
  | RxSmtpCode
  | (typeof SOCKET_ERROR_CODES)[number]
  | (typeof CERTIFICATE_ERROR_CODES)[number]
  | `ERR_${string}`;

const PASSED_THROUGH: ReadonlySet<string> = new Set<string>([...SMTP_ERROR_CODES, ...SOCKET_ERROR_CODES, ...CERTIFICATE_ERROR_CODES]);

/**
 * Whether a socket or TLS error's code can be passed through as an {@link SmtpErrorCode}.
 *
 * @example
 * ```ts
 * isSmtpErrorCode('ECONNREFUSED'); // true
 * isSmtpErrorCode('EWEIRD'); // false: it becomes EIO
 * ```
 */
export function isSmtpErrorCode(code: string): code is SmtpErrorCode {
  return PASSED_THROUGH.has(code) || code.startsWith('ERR_');
}
