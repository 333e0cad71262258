import type { Credentials, SaslClient, SaslMechanism } from './mechanism';
import { invalidCredentials, protocolError } from './mechanism';

const NAME = 'PLAIN';

/**
 * SASL PLAIN (RFC 4616): the initial response is `\0username\0password` in UTF-8, with no
 * authorization identity. Only safe inside TLS. A server that ignores the initial response and
 * sends an empty 334 gets the same bytes again; any other challenge is EPROTO.
 *
 * @example
 * ```ts
 * const client = PLAIN.create({ username: 'tim', password: 'tanstaaftanstaaf' });
 * client.initialResponse()?.toString('base64'); // 'AHRpbQB0YW5zdGFhZnRhbnN0YWFm'
 * ```
 */
export const PLAIN: SaslMechanism = {
  name: NAME,
  create(credentials: Credentials): SaslClient {
    // NUL is PLAIN's field separator (RFC 4616 section 2); it cannot appear inside a field.
    if (credentials.username.includes('\0')) throw invalidCredentials(NAME, 'the username contains NUL');
    if (credentials.password.includes('\0')) throw invalidCredentials(NAME, 'the password contains NUL');
    const message = `\0${credentials.username}\0${credentials.password}`;
    let answered = false;
    return {
      initialResponse: () => Buffer.from(message, 'utf8'),
      respond(challenge: Buffer): Buffer {
        if (answered) throw protocolError(NAME, 'the server sent a second challenge');
        if (challenge.length > 0) throw protocolError(NAME, 'the server sent a non-empty challenge');
        answered = true;
        return Buffer.from(message, 'utf8');
      },
      complete(): void {},
    };
  },
};
