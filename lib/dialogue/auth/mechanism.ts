import { SmtpError } from '../../errors';

/**
 * What the client authenticates with. For XOAUTH2 the password is the OAuth 2.0 access token.
 *
 * @example
 * ```ts
 * const credentials: Credentials = { username: 'alice@example.com', password: 'secret' };
 * ```
 */
export interface Credentials {
  username: string;
  password: string;
}

/**
 * One SASL exchange (RFC 4422) seen from the client: a synchronous state machine without I/O.
 * The SMTP dialogue sends `AUTH <name> [base64(initialResponse())]`, passes each decoded `334`
 * challenge to `respond()` and sends back base64 of the answer, sends `*` when `respond()` throws,
 * and calls `complete()` on `235`.
 *
 * @example
 * ```ts
 * const client = PLAIN.create({ username: 'tim', password: 'tanstaaftanstaaf' });
 * const first = client.initialResponse(); // <Buffer 00 74 69 6d 00 ...>
 * // ... server answers 235
 * client.complete();
 * ```
 */
export interface SaslClient {
  /** Bytes of the initial response sent with the AUTH command, or null when the mechanism waits for the first challenge. */
  initialResponse(): Buffer | null;
  /** Answers one 334 challenge (already base64-decoded). Throws SmtpError('EPROTO') when the challenge is malformed or the server fails to prove itself. */
  respond(challenge: Buffer): Buffer;
  /** Called on the final 235. Throws SmtpError('EPROTO') when the mechanism needed a server proof it never got (SCRAM). */
  complete(): void;
}

/**
 * A SASL mechanism by its registered name (upper case, as in the IANA registry and the EHLO `AUTH` line).
 * `create()` throws SmtpError('EINVAL') for credentials the mechanism cannot carry.
 *
 * @example
 * ```ts
 * const client = SCRAM_SHA_256.create({ username: 'user', password: 'pencil' });
 * command(`AUTH ${SCRAM_SHA_256.name} ${client.initialResponse()?.toString('base64')}`);
 * ```
 */
export interface SaslMechanism {
  readonly name: string;
  create(credentials: Credentials): SaslClient;
}

/**
 * The error for a server that breaks the SASL exchange; the message names the mechanism.
 *
 * @example
 * ```ts
 * throw protocolError('LOGIN', 'unexpected third challenge');
 * ```
 */
export function protocolError(mechanism: string, reason: string): SmtpError {
  return new SmtpError('EPROTO', `${mechanism} authentication failed: ${reason}`);
}

/**
 * The error for credentials a mechanism cannot encode (found before anything is sent).
 *
 * @example
 * ```ts
 * throw invalidCredentials('PLAIN', 'the username contains NUL');
 * ```
 */
export function invalidCredentials(mechanism: string, reason: string): SmtpError {
  return new SmtpError('EINVAL', `${mechanism} cannot carry these credentials: ${reason}`);
}
