import { expect } from 'chai';
import { SmtpError } from '../../../lib/errors';
import { CRAM_MD5 } from '../../../lib/dialogue/auth/cram-md5';

describe('CRAM-MD5', () => {
  const credentials = { username: 'tim', password: 'tanstaaftanstaaf' };
  const challenge = Buffer.from('<1896.697170952@postoffice.reston.mci.net>');

  it('has no initial response', () => {
    expect(CRAM_MD5.create(credentials).initialResponse()).to.equal(null);
  });

  it('answers the RFC 2195 example with the username and the lower-case hex HMAC-MD5', () => {
    const client = CRAM_MD5.create(credentials);
    expect(client.respond(challenge).toString()).to.equal('tim b913a602c7eda7a495b4e6e7334d3890');
  });

  it('rejects an empty challenge with EPROTO', () => {
    const client = CRAM_MD5.create(credentials);
    expect(() => client.respond(Buffer.alloc(0))).to.throw(SmtpError).with.property('code', 'EPROTO');
  });

  it('rejects a second challenge with EPROTO', () => {
    const client = CRAM_MD5.create(credentials);
    client.respond(challenge);
    expect(() => client.respond(challenge)).to.throw(SmtpError).with.property('code', 'EPROTO');
  });
});
