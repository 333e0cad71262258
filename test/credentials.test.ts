import { expect } from 'chai';
import { checkCredentials } from '../lib/credentials';
import { SmtpError } from '../lib/errors';

/** The EINVAL that checking throws; fails the test when it passes. */
function refusal(username: unknown, password: unknown): SmtpError {
  try {
    checkCredentials(username as string, password as string);
  } catch (err) {
    expect(err).to.be.instanceOf(SmtpError);
    expect((err as SmtpError).code).to.equal('EINVAL');
    return err as SmtpError;
  }
  throw new Error(`expected EINVAL for ${JSON.stringify([username, password])}`);
}

describe('credentials: checkCredentials', () => {
  it('means no authentication when neither is given (undefined, null or empty)', () => {
    for (const [user, pass] of [[undefined, undefined], [null, null], ['', ''], [null, ''], ['', undefined]] as const) {
      expect(checkCredentials(user, pass), JSON.stringify([user, pass])).to.equal(undefined);
    }
  });

  it('returns both when both are given, unchanged (spaces and non-ASCII included)', () => {
    expect(checkCredentials('alice', 's3cret')).to.deep.equal({ username: 'alice', password: 's3cret' });
    expect(checkCredentials(' ålice@example.test ', 'pa ss wörd')).to.deep.equal({ username: ' ålice@example.test ', password: 'pa ss wörd' });
  });

  for (const missing of [undefined, null, '']) {
    it(`EINVAL: a user name with a ${JSON.stringify(missing) ?? 'missing'} password`, () => {
      expect(refusal('alice', missing).message).to.equal('a user name was given without a password');
    });

    it(`EINVAL: a password with a ${JSON.stringify(missing) ?? 'missing'} user name`, () => {
      expect(refusal(missing, 's3cret').message).to.equal('a password was given without a user name');
    });
  }

  for (const [name, c] of [['CR', '\r'], ['LF', '\n'], ['NUL', '\0'], ['CRLF', '\r\n']] as const) {
    it(`EINVAL: ${name} in the user name`, () => {
      expect(refusal(`alice${c}QUIT`, 's3cret').message).to.equal('the user name contains CR, LF or NUL');
    });

    it(`EINVAL: ${name} in the password, without echoing the password`, () => {
      const error = refusal('alice', `top${c}secret-value`);
      expect(error.message).to.equal('the password contains CR, LF or NUL');
      expect(error.message).to.not.include('secret-value');
    });
  }

  it('EINVAL: a user name or password that is not a string', () => {
    refusal(42, 's3cret');
    refusal('alice', { toString: () => 's3cret' });
  });
});
