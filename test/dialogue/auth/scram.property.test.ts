import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import { SmtpError } from '../../../lib/errors';
import { createScram, saslprep, type ScramHash } from '../../../lib/dialogue/auth/scram';

/** A server's side of one SCRAM exchange (RFC 5802 section 3), written independently of the client. */
interface ServerSetup {
  hash: ScramHash;
  password: string;
  salt: Buffer;
  iterations: number;
  serverNonce: string;
}

interface ServerFinal {
  /** Whether the client's proof checked out. */
  proven: boolean;
  /** The server's signature, sent even when the proof failed, as an impostor would. */
  serverFinal: string;
}

function serverRun(setup: ServerSetup, clientFirst: string): { username: string; serverFirst: string; finish: (clientFinal: string) => ServerFinal } {
  expect(clientFirst.startsWith('n,,')).to.equal(true);
  const clientFirstBare = clientFirst.slice(3);
  const [, user = '', nonce = ''] = /^n=([^,]*),r=(.*)$/.exec(clientFirstBare) ?? [];
  const username = user.replace(/=2C/g, ',').replace(/=3D/g, '=');
  const serverFirst = `r=${nonce}${setup.serverNonce},s=${setup.salt.toString('base64')},i=${setup.iterations}`;
  const hmac = (key: Buffer, data: string): Buffer => createHmac(setup.hash, key).update(data).digest();
  const length = createHash(setup.hash).digest().length;
  const salted = pbkdf2Sync(saslprep(setup.password), setup.salt, setup.iterations, length, setup.hash);
  const storedKey = createHash(setup.hash).update(hmac(salted, 'Client Key')).digest();
  const finish = (clientFinal: string): ServerFinal => {
    const [, withoutProof = '', proof = ''] = /^(c=biws,r=[^,]*),p=(.*)$/.exec(clientFinal) ?? [];
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const clientKey = Buffer.from(Buffer.from(proof, 'base64').map((byte, index) => byte ^ signature[index]!));
    const proven = timingSafeEqual(createHash(setup.hash).update(clientKey).digest(), storedKey);
    return { proven, serverFinal: `v=${hmac(hmac(salted, 'Server Key'), authMessage).toString('base64')}` };
  };
  return { username, serverFirst, finish };
}

const setup$ = fc.record({
  hash: fc.constantFrom<ScramHash>('sha1', 'sha256'),
  password: fc.string({ unit: 'grapheme-ascii' }),
  salt: fc.uint8Array({ minLength: 1, maxLength: 32 }).map((bytes) => Buffer.from(bytes)),
  iterations: fc.integer({ min: 1, max: 64 }), // small: the property is about the exchange, not PBKDF2's cost
  serverNonce: fc.stringMatching(/^[\x21-\x2b\x2d-\x7e]{1,32}$/),
});
const username$ = fc.string({ minLength: 1, unit: 'grapheme' }).filter((name) => !name.includes('\0'));

function exchange(setup: ServerSetup, username: string, password: string): { proven: boolean; client: () => void } {
  const client = createScram(setup.hash).create({ username, password });
  const server = serverRun(setup, client.initialResponse()?.toString('utf8') ?? '');
  expect(server.username).to.equal(username);
  const clientFinal = client.respond(Buffer.from(server.serverFirst)).toString('utf8');
  const { proven, serverFinal } = server.finish(clientFinal);
  return {
    proven,
    client: () => {
      client.respond(Buffer.from(serverFinal));
      client.complete();
    },
  };
}

describe('SCRAM against an independent server computation', () => {
  it('always verifies both ways when both sides know the password', () => {
    fc.assert(
      fc.property(setup$, username$, (setup, username) => {
        const { proven, client } = exchange(setup, username, setup.password);
        expect(proven).to.equal(true);
        client();
      }),
    );
  });

  it('rejects with EPROTO a server that holds a different password', () => {
    fc.assert(
      fc.property(setup$, username$, fc.string({ unit: 'grapheme-ascii' }), (setup, username, password) => {
        fc.pre(saslprep(password) !== saslprep(setup.password));
        const { proven, client } = exchange(setup, username, password);
        expect(proven).to.equal(false);
        expect(client).to.throw(SmtpError).with.property('code', 'EPROTO');
      }),
    );
  });
});
