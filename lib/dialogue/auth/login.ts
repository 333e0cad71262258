import type { Credentials, SaslClient, SaslMechanism } from './mechanism';
import { protocolError } from './mechanism';

const NAME = 'LOGIN';

/**
 * SASL LOGIN (draft-murchison-sasl-login): no initial response; the first challenge is answered
 * with the username, the second with the password. Answers go by position, not by the challenge
 * text, because servers word it differently (`Username:`, `User Name\0`, ...). A third challenge is
 * EPROTO. Only safe inside TLS.
 *
 * @example
 * ```ts
 * const client = LOGIN.create({ username: 'alice', password: 'secret' });
 * client.initialResponse(); // null
 * client.respond(Buffer.from('Username:')).toString(); // 'alice'
 * client.respond(Buffer.from('Password:')).toString(); // 'secret'
 * ```
 */
export const LOGIN: SaslMechanism = {
  name: NAME,
  create(credentials: Credentials): SaslClient {
    const answers = [credentials.username, credentials.password];
    let next = 0;
    return {
      initialResponse: () => null,
      respond(): Buffer {
        const answer = answers[next];
        if (answer === undefined) throw protocolError(NAME, 'the server sent a third challenge');
        next += 1;
        return Buffer.from(answer, 'utf8');
      },
      complete(): void {},
    };
  },
};
