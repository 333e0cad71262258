import { expect } from 'chai';
import { SmtpError } from '../../../lib/errors';
import { XOAUTH2 } from '../../../lib/dialogue/auth/xoauth2';

describe('XOAUTH2', () => {
  const credentials = { username: 'someuser@example.com', password: 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg' };

  it('sends user=U^Aauth=Bearer T^A^A as the initial response', () => {
    const client = XOAUTH2.create(credentials);
    expect(client.initialResponse()?.toString()).to.equal(
      'user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01',
    );
  });

  it('matches the base64 of Google\'s documented example', () => {
    const client = XOAUTH2.create(credentials);
    expect(client.initialResponse()?.toString('base64')).to.equal(
      'dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==',
    );
  });

  it('answers the JSON error challenge with an empty response', () => {
    const client = XOAUTH2.create(credentials);
    const error = Buffer.from('{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}');
    expect(client.respond(error).length).to.equal(0);
  });

  it('rejects a second challenge with EPROTO', () => {
    const client = XOAUTH2.create(credentials);
    client.respond(Buffer.from('{}'));
    expect(() => client.respond(Buffer.from('{}'))).to.throw(SmtpError).with.property('code', 'EPROTO');
  });

  it('refuses a \\x01 inside the token with EINVAL', () => {
    expect(() => XOAUTH2.create({ username: 'u', password: 'a\x01b' })).to.throw(SmtpError).with.property('code', 'EINVAL');
  });
});
