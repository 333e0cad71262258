import type { Credentials, SaslClient, SaslMechanism } from './mechanism';
import { invalidCredentials, protocolError } from './mechanism';

const NAME = 'XOAUTH2';
const SEPARATOR = '\x01'; // ^A, the field separator of Google's XOAUTH2 format

/**
 * XOAUTH2 (Google and Microsoft's OAuth 2.0 bearer-token mechanism): the password is the access
 * token and the initial response is `user=U^Aauth=Bearer T^A^A`. When the token is refused the
 * server sends a 334 whose challenge is a JSON error; it is answered with an empty response so the
 * server can send its final 535. A second challenge is EPROTO. Used only when asked for by name.
 *
 * @example
 * ```ts
 * const client = XOAUTH2.create({ username: 'alice@example.com', password: accessToken });
 * command(`AUTH XOAUTH2 ${client.initialResponse()?.toString('base64')}`);
 * ```
 */
export const XOAUTH2: SaslMechanism = {
  name: NAME,
  create(credentials: Credentials): SaslClient {
    if (credentials.username.includes(SEPARATOR)) throw invalidCredentials(NAME, 'the username contains \\x01');
    if (credentials.password.includes(SEPARATOR)) throw invalidCredentials(NAME, 'the access token contains \\x01');
    const message = `user=${credentials.username}${SEPARATOR}auth=Bearer ${credentials.password}${SEPARATOR}${SEPARATOR}`;
    let answered = false;
    return {
      initialResponse: () => Buffer.from(message, 'utf8'),
      respond(): Buffer {
        if (answered) throw protocolError(NAME, 'the server sent a second challenge');
        answered = true;
        return Buffer.alloc(0);
      },
      complete(): void {},
    };
  },
};
