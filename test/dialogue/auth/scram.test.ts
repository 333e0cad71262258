import { expect } from 'chai';
import { SmtpError } from '../../../lib/errors';
import { createScram, MAX_SCRAM_ITERATIONS, SCRAM_SHA_1, SCRAM_SHA_256 } from '../../../lib/dialogue/auth/scram';
import type { SaslClient } from '../../../lib/dialogue/auth/mechanism';

// RFC 5802 section 5.
const SHA1 = {
  nonce: 'fyko+d2lbbFgONRv9qkxdawL',
  clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
  serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
  clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
  serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
};

// RFC 7677 section 3.
const SHA256 = {
  nonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

const credentials = { username: 'user', password: 'pencil' };

function sha1Client(): SaslClient {
  return createScram('sha1', () => SHA1.nonce).create(credentials);
}

function respond(client: SaslClient, challenge: string): string {
  return client.respond(Buffer.from(challenge, 'utf8')).toString('utf8');
}

function expectEproto(action: () => unknown): void {
  expect(action).to.throw(SmtpError).with.property('code', 'EPROTO');
}

describe('SCRAM', () => {
  describe('RFC 5802 SCRAM-SHA-1 example', () => {
    it('sends the client-first-message', () => {
      expect(sha1Client().initialResponse()?.toString()).to.equal(SHA1.clientFirst);
    });

    it('answers server-first with the client-final-message', () => {
      expect(respond(sha1Client(), SHA1.serverFirst)).to.equal(SHA1.clientFinal);
    });

    it('verifies server-final, answers it with an empty response and completes', () => {
      const client = sha1Client();
      respond(client, SHA1.serverFirst);
      expect(respond(client, SHA1.serverFinal)).to.equal('');
      expect(() => client.complete()).not.to.throw();
    });
  });

  describe('RFC 7677 SCRAM-SHA-256 example', () => {
    const client = (): SaslClient => createScram('sha256', () => SHA256.nonce).create(credentials);

    it('sends the client-first-message', () => {
      expect(client().initialResponse()?.toString()).to.equal(SHA256.clientFirst);
    });

    it('answers server-first with the client-final-message', () => {
      expect(respond(client(), SHA256.serverFirst)).to.equal(SHA256.clientFinal);
    });

    it('verifies server-final and completes', () => {
      const scram = client();
      respond(scram, SHA256.serverFirst);
      expect(respond(scram, SHA256.serverFinal)).to.equal('');
      expect(() => scram.complete()).not.to.throw();
    });
  });

  it('names the mechanisms as IANA registers them', () => {
    expect([SCRAM_SHA_256.name, SCRAM_SHA_1.name]).to.deep.equal(['SCRAM-SHA-256', 'SCRAM-SHA-1']);
  });

  it('uses a fresh 24-byte base64 nonce by default', () => {
    const first = SCRAM_SHA_256.create(credentials).initialResponse()?.toString();
    const second = SCRAM_SHA_256.create(credentials).initialResponse()?.toString();
    expect(first).to.match(/^n,,n=user,r=[A-Za-z0-9+/]{32}$/);
    expect(first).not.to.equal(second);
  });

  it('escapes "=" and "," in the username', () => {
    const client = createScram('sha1', () => SHA1.nonce).create({ username: 'a=b,c', password: 'pencil' });
    expect(client.initialResponse()?.toString()).to.equal(`n,,n=a=3Db=2Cc,r=${SHA1.nonce}`);
  });

  it('refuses an empty username with EINVAL', () => {
    expect(() => SCRAM_SHA_1.create({ username: '', password: 'x' })).to.throw(SmtpError).with.property('code', 'EINVAL');
  });

  it('refuses a password SASLprep prohibits with EINVAL', () => {
    expect(() => SCRAM_SHA_1.create({ username: 'user', password: 'pen\u0007cil' }))
      .to.throw(SmtpError)
      .with.property('code', 'EINVAL');
  });

  it('derives the keys from the SASLprep\'d password', () => {
    // "pen\u00adcil" prepares to "pencil", so the RFC vector still holds.
    const client = createScram('sha1', () => SHA1.nonce).create({ username: 'user', password: 'pen\u00adcil' });
    expect(respond(client, SHA1.serverFirst)).to.equal(SHA1.clientFinal);
  });

  describe('server-first-message', () => {
    const withIterations = (count: string): string => SHA1.serverFirst.replace('i=4096', `i=${count}`);

    it('rejects a nonce that does not extend the client nonce', () => {
      expectEproto(() => respond(sha1Client(), SHA1.serverFirst.replace('r=fyko', 'r=fyk0')));
    });

    it('rejects a nonce equal to the client nonce', () => {
      expectEproto(() => respond(sha1Client(), SHA1.serverFirst.replace('3rfcNHYJY1ZVvWVs7j', '')));
    });

    it('rejects an iteration count of 0', () => {
      expectEproto(() => respond(sha1Client(), withIterations('0')));
    });

    it(`rejects an iteration count above ${MAX_SCRAM_ITERATIONS}`, () => {
      expectEproto(() => respond(sha1Client(), withIterations(String(MAX_SCRAM_ITERATIONS + 1))));
    });

    it('rejects an absurdly large iteration count', () => {
      expectEproto(() => respond(sha1Client(), withIterations('9'.repeat(400))));
    });

    it('rejects a non-numeric iteration count', () => {
      for (const count of ['4096x', '-1', '4e3', ' 4096', '0x10', '']) {
        expectEproto(() => respond(sha1Client(), withIterations(count)));
      }
    });

    it('rejects a mandatory extension', () => {
      expectEproto(() => respond(sha1Client(), `m=channel-binding-required,${SHA1.serverFirst}`));
    });

    it('rejects an empty salt', () => {
      expectEproto(() => respond(sha1Client(), SHA1.serverFirst.replace('s=QSXCR+Q6sek8bf92', 's=')));
    });

    it('rejects a salt that is not base64', () => {
      expectEproto(() => respond(sha1Client(), SHA1.serverFirst.replace('s=QSXCR+Q6sek8bf92', 's=QSX*R+Q6sek8bf92')));
    });

    it('rejects attributes out of order', () => {
      expectEproto(() => respond(sha1Client(), 's=QSXCR+Q6sek8bf92,r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096'));
    });

    it('rejects an empty challenge', () => {
      expectEproto(() => respond(sha1Client(), ''));
    });

    it('rejects invalid UTF-8', () => {
      expectEproto(() => sha1Client().respond(Buffer.from([0x72, 0x3d, 0xff])));
    });

    it('accepts optional extensions after the iteration count', () => {
      const client = sha1Client();
      expect(respond(client, `${SHA1.serverFirst},x=future`)).to.match(/^c=biws,r=fyko\+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=/);
    });

    it('reports e= as EPROTO with the server\'s text', () => {
      expect(() => respond(sha1Client(), 'e=unknown-user'))
        .to.throw(SmtpError, /unknown-user/)
        .with.property('code', 'EPROTO');
    });
  });

  describe('server-final-message', () => {
    const afterServerFirst = (): SaslClient => {
      const client = sha1Client();
      respond(client, SHA1.serverFirst);
      return client;
    };

    it('rejects a wrong server signature', () => {
      expectEproto(() => respond(afterServerFirst(), 'v=AAAAAAAAAAAAAAAAAAAAAAAAAAA='));
    });

    it('rejects a server signature of the wrong length', () => {
      expectEproto(() => respond(afterServerFirst(), 'v=AAAA'));
    });

    it('reports e= as EPROTO with the server\'s text', () => {
      expect(() => respond(afterServerFirst(), 'e=invalid-proof'))
        .to.throw(SmtpError, /invalid-proof/)
        .with.property('code', 'EPROTO');
    });

    it('sanitises control characters in the server\'s error text', () => {
      expect(() => respond(afterServerFirst(), 'e=bad\u001b[31m'))
        .to.throw(SmtpError)
        .with.property('message')
        .that.does.not.include('\u001b');
    });

    it('rejects a message without v=', () => {
      expectEproto(() => respond(afterServerFirst(), 'x=rmF9pqV8S7suAoZWja4dJRkFsKQ='));
    });

    it('rejects a challenge after server-final', () => {
      const client = afterServerFirst();
      respond(client, SHA1.serverFinal);
      expectEproto(() => respond(client, SHA1.serverFinal));
    });

    it('stays failed after a wrong signature', () => {
      const client = afterServerFirst();
      expectEproto(() => respond(client, 'v=AAAAAAAAAAAAAAAAAAAAAAAAAAA='));
      expectEproto(() => respond(client, SHA1.serverFinal));
      expectEproto(() => client.complete());
    });
  });

  describe('complete()', () => {
    it('throws EPROTO before any challenge', () => {
      expectEproto(() => sha1Client().complete());
    });

    it('throws EPROTO when server-final was never verified', () => {
      const client = sha1Client();
      respond(client, SHA1.serverFirst);
      expectEproto(() => client.complete());
    });
  });
});
