import { createHmac } from 'node:crypto';
import type { Credentials, SaslClient, SaslMechanism } from './mechanism';
import { protocolError } from './mechanism';

const NAME = 'CRAM-MD5';

/**
 * SASL CRAM-MD5 (RFC 2195): no initial response; the one challenge is answered with
 * `username SP hex(HMAC-MD5(password, challenge))`, hex in lower case. An empty or second
 * challenge is EPROTO. The password never crosses the wire, but the server must store it in clear
 * and the exchange can be attacked offline; prefer SCRAM when offered.
 *
 * @example
 * ```ts
 * const client = CRAM_MD5.create({ username: 'tim', password: 'tanstaaftanstaaf' });
 * client.respond(Buffer.from('<1896.697170952@postoffice.reston.mci.net>')).toString();
 * // 'tim b913a602c7eda7a495b4e6e7334d3890'
 * ```
 */
export const CRAM_MD5: SaslMechanism = {
  name: NAME,
  create(credentials: Credentials): SaslClient {
    let answered = false;
    return {
      initialResponse: () => null,
      respond(challenge: Buffer): Buffer {
        if (answered) throw protocolError(NAME, 'the server sent a second challenge');
        if (challenge.length === 0) throw protocolError(NAME, 'the server sent an empty challenge');
        answered = true;
        const digest = createHmac('md5', Buffer.from(credentials.password, 'utf8')).update(challenge).digest('hex');
        return Buffer.from(`${credentials.username} ${digest}`, 'utf8');
      },
      complete(): void {},
    };
  },
};
