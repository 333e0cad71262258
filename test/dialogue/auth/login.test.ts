import { expect } from 'chai';
import { SmtpError } from '../../../lib/errors';
import { LOGIN } from '../../../lib/dialogue/auth/login';

describe('LOGIN', () => {
  const credentials = { username: 'alice', password: 'secret' };

  it('has no initial response', () => {
    expect(LOGIN.create(credentials).initialResponse()).to.equal(null);
  });

  it('answers the first challenge with the username and the second with the password', () => {
    const client = LOGIN.create(credentials);
    expect(client.respond(Buffer.from('Username:')).toString()).to.equal('alice');
    expect(client.respond(Buffer.from('Password:')).toString()).to.equal('secret');
  });

  it('answers by position whatever the challenge says', () => {
    const client = LOGIN.create(credentials);
    expect(client.respond(Buffer.from('Password:')).toString()).to.equal('alice');
    expect(client.respond(Buffer.from('User Name\0')).toString()).to.equal('secret');
  });

  it('rejects a third challenge with EPROTO', () => {
    const client = LOGIN.create(credentials);
    client.respond(Buffer.from('Username:'));
    client.respond(Buffer.from('Password:'));
    expect(() => client.respond(Buffer.from('Again:'))).to.throw(SmtpError).with.property('code', 'EPROTO');
  });

  it('encodes the answers as UTF-8', () => {
    const client = LOGIN.create({ username: 'jürgen', password: 'pässwörd' });
    expect(client.respond(Buffer.alloc(0))).to.deep.equal(Buffer.from('jürgen', 'utf8'));
  });
});
