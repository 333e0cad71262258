import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { SmtpError } from '../../errors';
import { sanitize } from '../../reply/sanitize';
import type { Credentials, SaslClient, SaslMechanism } from './mechanism';
import { invalidCredentials, protocolError } from './mechanism';

/**
 * The hash functions SCRAM is implemented with, by their `node:crypto` names.
 *
 * @example
 * ```ts
 * const hash: ScramHash = 'sha256'; // SCRAM-SHA-256
 * ```
 */
export type ScramHash = 'sha1' | 'sha256';

const MECHANISM_NAMES: Readonly<Record<ScramHash, string>> = { sha1: 'SCRAM-SHA-1', sha256: 'SCRAM-SHA-256' };

/**
 * The largest iteration count a server may ask for. RFC 7677 section 4 asks for at least 4096 and
 * OWASP (2023) recommends 600 000 for PBKDF2-HMAC-SHA256; a server asking for more is misconfigured
 * or hostile, and since the derivation blocks the event loop (100-250 ms at this count) more is refused.
 *
 * @example
 * ```ts
 * if (iterations > MAX_SCRAM_ITERATIONS) throw new SmtpError('EPROTO', 'too many iterations');
 * ```
 */
export const MAX_SCRAM_ITERATIONS = 600_000;

const CLIENT_NONCE_BYTES = 24; // 192 random bits, far beyond any chance of reuse
const GS2_HEADER = 'n,,'; // RFC 5802 section 7: no channel binding, no authorization identity
const CHANNEL_BINDING = Buffer.from(GS2_HEADER, 'utf8').toString('base64'); // 'biws'

// RFC 5802 section 7: printable = %x21-2B / %x2D-7E (printable ASCII except ",").
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const POSITIVE_NUMBER = /^[1-9][0-9]*$/;
const EXTENSION = /^[A-Za-z]=/;

// SCRAM messages are UTF-8 (RFC 5802 section 5.1); invalid bytes would not survive a round trip
// into the AuthMessage, so they are refused outright.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A client nonce: 24 random bytes in base64 (never contains ","). */
function randomNonce(): string {
  return randomBytes(CLIENT_NONCE_BYTES).toString('base64');
}

// RFC 3454 table C.1.2, which RFC 4013 section 2.1 maps to SPACE.
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/gu;
// RFC 3454 table B.1, "commonly mapped to nothing".
const MAPPED_TO_NOTHING = /[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/gu;
// RFC 4013 section 2.3: RFC 3454 tables C.1.2, C.2.1, C.2.2, C.3 (\p{Co}), C.4 (noncharacters),
// C.5 (\p{Cs}: lone surrogates), C.6, C.7, C.8 and C.9.
const PROHIBITED = new RegExp(
  '[' +
    '\\u00a0\\u1680\\u2000-\\u200b\\u202f\\u205f\\u3000' + // C.1.2 non-ASCII space
    '\\u0000-\\u001f\\u007f' + // C.2.1 ASCII control
    '\\u0080-\\u009f\\u06dd\\u070f\\u180e\\u200c\\u200d\\u2028\\u2029\\u2060-\\u2063\\u206a-\\u206f\\ufeff\\ufff9-\\ufffc\\u{1d173}-\\u{1d17a}' + // C.2.2
    '\\p{Co}\\p{Noncharacter_Code_Point}\\p{Cs}' + // C.3, C.4, C.5
    '\\ufff9-\\ufffd\\u2ff0-\\u2ffb' + // C.6 inappropriate for plain text, C.7 for canonical representation
    '\\u0340\\u0341\\u200e\\u200f\\u202a-\\u202e' + // C.8 change display properties
    '\\u{e0001}\\u{e0020}-\\u{e007f}' + // C.9 tagging
    ']',
  'u',
);

/**
 * SASLprep (RFC 4013) for a stored-or-query string, as SCRAM needs for the password: non-ASCII
 * spaces become U+0020, "commonly mapped to nothing" characters are removed, the result is NFKC
 * normalised, and prohibited output (controls, private use, surrogates, ...) throws
 * SmtpError('EINVAL'). Unassigned code points are allowed (query semantics). The bidirectional
 * check (RFC 3454 section 6) is left out: JavaScript cannot look up Bidi_Class, and the check only
 * ever rejects, so skipping it can at worst send a password the server then refuses.
 *
 * @example
 * ```ts
 * saslprep('I\u00adX'); // 'IX'
 * saslprep('\u2168'); // 'IX'
 * saslprep('a\u00a0b'); // 'a b'
 * saslprep('\u0007'); // throws SmtpError('EINVAL')
 * ```
 */
export function saslprep(text: string): string {
  const mapped = text.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC');
  const prohibited = PROHIBITED.exec(mapped);
  if (prohibited !== null) {
    const codePoint = prohibited[0].codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0');
    // The code point only: the text is usually a password and must not reach a message or a log.
    throw new SmtpError('EINVAL', `SASLprep refuses the prohibited character U+${codePoint}`);
  }
  return mapped;
}

/** RFC 5802 section 5.1: "=" and "," in a username are sent as "=3D" and "=2C". */
function escapeUsername(username: string): string {
  return username.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** The parts of server-first-message (RFC 5802 section 7) the client uses. */
interface ServerFirst {
  readonly raw: string;
  readonly nonce: string;
  readonly salt: Buffer;
  readonly iterations: number;
}

/** Where one exchange stands; `failed` is terminal, as is `verified` until `complete()`. */
type ScramState =
  | { readonly step: 'server-first' }
  | { readonly step: 'server-final'; readonly serverSignature: Buffer }
  | { readonly step: 'verified' }
  | { readonly step: 'failed' };

class ScramClient implements SaslClient {
  private state: ScramState = { step: 'server-first' };
  private readonly clientFirstBare: string;

  constructor(
    private readonly name: string,
    private readonly hash: ScramHash,
    username: string,
    private readonly password: string,
    private readonly clientNonce: string,
  ) {
    this.clientFirstBare = `n=${escapeUsername(username)},r=${clientNonce}`;
  }

  initialResponse(): Buffer {
    return Buffer.from(GS2_HEADER + this.clientFirstBare, 'utf8');
  }

  respond(challenge: Buffer): Buffer {
    const state = this.state;
    // Fail first: whatever throws below leaves the exchange dead rather than half-advanced.
    this.state = { step: 'failed' };
    switch (state.step) {
      case 'server-first': {
        const { clientFinal, serverSignature } = this.clientFinal(this.parseServerFirst(this.decode(challenge)));
        this.state = { step: 'server-final', serverSignature };
        return Buffer.from(clientFinal, 'utf8');
      }
      case 'server-final':
        this.verifyServerFinal(this.decode(challenge), state.serverSignature);
        this.state = { step: 'verified' };
        return Buffer.alloc(0);
      case 'verified':
        throw this.error('the server sent a challenge after its final message');
      case 'failed':
        throw this.error('the exchange has already failed');
    }
  }

  complete(): void {
    // Without a verified server signature, a 235 proves nothing: anyone can say "accepted".
    if (this.state.step !== 'verified') throw this.error('the server accepted without proving it knows the password');
  }

  private parseServerFirst(text: string): ServerFirst {
    this.rejectServerError(text);
    const [nonceAttribute, saltAttribute, iterationAttribute, ...extensions] = text.split(',');
    if (nonceAttribute?.startsWith('m=')) throw this.error('the server requires an unsupported mandatory extension');
    const nonce = this.attribute(nonceAttribute, 'r');
    if (!NONCE.test(nonce)) throw this.error('the server nonce has characters outside printable ASCII');
    if (nonce.length <= this.clientNonce.length || !nonce.startsWith(this.clientNonce)) {
      throw this.error('the server nonce does not extend the client nonce');
    }
    const salt = this.base64(this.attribute(saltAttribute, 's'), 'salt');
    if (salt.length === 0) throw this.error('the salt is empty');
    const count = this.attribute(iterationAttribute, 'i');
    if (!POSITIVE_NUMBER.test(count)) throw this.error(`the iteration count ${sanitize(count, 20)} is not a positive integer`);
    const iterations = Number(count);
    if (iterations > MAX_SCRAM_ITERATIONS) {
      throw this.error(`the iteration count ${sanitize(count, 20)} exceeds ${MAX_SCRAM_ITERATIONS}`);
    }
    if (!extensions.every((extension) => EXTENSION.test(extension))) throw this.error('malformed server-first-message');
    return { raw: text, nonce, salt, iterations };
  }

  /** RFC 5802 section 3: computes the client proof and the server signature to expect. */
  private clientFinal(first: ServerFirst): { clientFinal: string; serverSignature: Buffer } {
    const withoutProof = `c=${CHANNEL_BINDING},r=${first.nonce}`;
    const authMessage = `${this.clientFirstBare},${first.raw},${withoutProof}`;
    const keyLength = createHash(this.hash).digest().length;
    const saltedPassword = pbkdf2Sync(Buffer.from(this.password, 'utf8'), first.salt, first.iterations, keyLength, this.hash);
    const clientKey = this.hmac(saltedPassword, 'Client Key');
    const storedKey = createHash(this.hash).update(clientKey).digest();
    const clientSignature = this.hmac(storedKey, authMessage);
    const clientProof = Buffer.alloc(clientKey.length);
    for (let index = 0; index < clientKey.length; index += 1) {
      clientProof[index] = clientKey[index]! ^ clientSignature[index]!;
    }
    const serverSignature = this.hmac(this.hmac(saltedPassword, 'Server Key'), authMessage);
    return { clientFinal: `${withoutProof},p=${clientProof.toString('base64')}`, serverSignature };
  }

  private verifyServerFinal(text: string, expected: Buffer): void {
    this.rejectServerError(text);
    const [verifier, ...extensions] = text.split(',');
    const signature = this.base64(this.attribute(verifier, 'v'), 'server signature');
    if (!extensions.every((extension) => EXTENSION.test(extension))) throw this.error('malformed server-final-message');
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw this.error('the server signature is wrong: the server does not know the password');
    }
  }

  private rejectServerError(text: string): void {
    if (!text.startsWith('e=')) return;
    const [error = ''] = text.slice(2).split(',');
    throw this.error(`the server reported ${sanitize(error, 80)}`);
  }

  /** The value of `name=value`, or EPROTO when the attribute is missing, misnamed or empty. */
  private attribute(attribute: string | undefined, name: string): string {
    if (attribute === undefined || !attribute.startsWith(`${name}=`) || attribute.length === name.length + 1) {
      throw this.error(`expected the attribute ${name}= but got ${sanitize(attribute ?? 'nothing', 20)}`);
    }
    return attribute.slice(name.length + 1);
  }

  private base64(text: string, what: string): Buffer {
    if (!BASE64.test(text)) throw this.error(`the ${what} is not valid base64`);
    return Buffer.from(text, 'base64');
  }

  private decode(challenge: Buffer): string {
    try {
      return UTF8.decode(challenge);
    } catch {
      throw this.error('the challenge is not valid UTF-8');
    }
  }

  private hmac(key: Buffer, data: string): Buffer {
    return createHmac(this.hash, key).update(data, 'utf8').digest();
  }

  private error(reason: string): SmtpError {
    return protocolError(this.name, reason);
  }
}

/**
 * Builds a SCRAM mechanism (RFC 5802, RFC 7677) for one hash, without channel binding (gs2 header
 * `n,,`). The username is escaped, the password SASLprep'd (EINVAL when it cannot be), and the
 * server-first-message parsed strictly: the nonce must extend ours, the salt be non-empty base64,
 * the iteration count lie in 1..{@link MAX_SCRAM_ITERATIONS}, and no mandatory extension is accepted.
 * The server-final signature is checked in constant time; `complete()` throws EPROTO without it.
 * `nonce` is the client nonce source, injectable so tests can replay the RFC examples.
 *
 * @example
 * ```ts
 * const scram = createScram('sha1', () => 'fyko+d2lbbFgONRv9qkxdawL'); // RFC 5802 section 5
 * const client = scram.create({ username: 'user', password: 'pencil' });
 * client.initialResponse()?.toString(); // 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL'
 * ```
 */
export function createScram(hash: ScramHash, nonce: () => string = randomNonce): SaslMechanism {
  const name = MECHANISM_NAMES[hash];
  return {
    name,
    create(credentials: Credentials): SaslClient {
      if (credentials.username.length === 0) throw invalidCredentials(name, 'the username is empty');
      if (credentials.username.includes('\0')) throw invalidCredentials(name, 'the username contains NUL');
      const clientNonce = nonce();
      if (!NONCE.test(clientNonce)) throw invalidCredentials(name, 'the client nonce must be printable ASCII without ","');
      return new ScramClient(name, hash, credentials.username, saslprep(credentials.password), clientNonce);
    },
  };
}

/**
 * SCRAM-SHA-256 (RFC 7677): the strongest mechanism offered here, with a random client nonce.
 *
 * @example
 * ```ts
 * const client = SCRAM_SHA_256.create({ username: 'user', password: 'pencil' });
 * command(`AUTH SCRAM-SHA-256 ${client.initialResponse()?.toString('base64')}`);
 * ```
 */
export const SCRAM_SHA_256: SaslMechanism = createScram('sha256');

/**
 * SCRAM-SHA-1 (RFC 5802), with a random client nonce.
 *
 * @example
 * ```ts
 * const client = SCRAM_SHA_1.create({ username: 'user', password: 'pencil' });
 * command(`AUTH SCRAM-SHA-1 ${client.initialResponse()?.toString('base64')}`);
 * ```
 */
export const SCRAM_SHA_1: SaslMechanism = createScram('sha1');
