import { expect } from 'chai';
import { SmtpError } from '../../../lib/errors';
import { PLAIN } from '../../../lib/dialogue/auth/plain';

describe('PLAIN', () => {
  const credentials = { username: 'tim', password: 'tanstaaftanstaaf' };

  it('sends \\0username\\0password as the initial response (RFC 4616)', () => {
    const client = PLAIN.create(credentials);
    expect(client.initialResponse()).to.deep.equal(Buffer.from('\0tim\0tanstaaftanstaaf'));
  });

  it('encodes the credentials as UTF-8', () => {
    const client = PLAIN.create({ username: 'ünïcode', password: 'pässwörd' });
    expect(client.initialResponse()?.toString('hex')).to.equal(Buffer.from('\0ünïcode\0pässwörd', 'utf8').toString('hex'));
  });

  it('answers an empty challenge with the same bytes', () => {
    const client = PLAIN.create(credentials);
    expect(client.respond(Buffer.alloc(0))).to.deep.equal(Buffer.from('\0tim\0tanstaaftanstaaf'));
  });

  it('rejects a second challenge with EPROTO', () => {
    const client = PLAIN.create(credentials);
    client.respond(Buffer.alloc(0));
    expect(() => client.respond(Buffer.alloc(0))).to.throw(SmtpError).with.property('code', 'EPROTO');
  });

  it('rejects a non-empty challenge with EPROTO', () => {
    const client = PLAIN.create(credentials);
    expect(() => client.respond(Buffer.from('Username:'))).to.throw(SmtpError).with.property('code', 'EPROTO');
  });

  it('refuses a NUL inside the username or password with EINVAL', () => {
    expect(() => PLAIN.create({ username: 'a\0b', password: 'x' })).to.throw(SmtpError).with.property('code', 'EINVAL');
    expect(() => PLAIN.create({ username: 'a', password: 'x\0y' })).to.throw(SmtpError).with.property('code', 'EINVAL');
  });

  it('completes without a challenge', () => {
    expect(() => PLAIN.create(credentials).complete()).not.to.throw();
  });
});
