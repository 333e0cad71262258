import { expect } from 'chai';
import { chooseMechanism, DEFAULT_PREFERENCE, MECHANISMS } from '../../../lib/dialogue/auth/mechanisms';

describe('chooseMechanism', () => {
  it('lists every mechanism strongest first', () => {
    expect(MECHANISMS.map((mechanism) => mechanism.name)).to.deep.equal([
      'SCRAM-SHA-256',
      'SCRAM-SHA-1',
      'CRAM-MD5',
      'PLAIN',
      'LOGIN',
      'XOAUTH2',
    ]);
  });

  it('leaves XOAUTH2 out of the default preference', () => {
    expect(DEFAULT_PREFERENCE).to.deep.equal(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5', 'PLAIN', 'LOGIN']);
  });

  it('picks the strongest advertised mechanism by default', () => {
    expect(chooseMechanism(['LOGIN', 'PLAIN', 'CRAM-MD5', 'SCRAM-SHA-1'])?.name).to.equal('SCRAM-SHA-1');
  });

  it('compares advertised names case-insensitively', () => {
    expect(chooseMechanism(['login', 'Plain'])?.name).to.equal('PLAIN');
  });

  it('follows the caller\'s preference order', () => {
    expect(chooseMechanism(['SCRAM-SHA-256', 'LOGIN'], ['LOGIN', 'SCRAM-SHA-256'])?.name).to.equal('LOGIN');
  });

  it('chooses XOAUTH2 only when asked for', () => {
    expect(chooseMechanism(['XOAUTH2'])).to.equal(undefined);
    expect(chooseMechanism(['XOAUTH2', 'PLAIN'], ['XOAUTH2'])?.name).to.equal('XOAUTH2');
  });

  it('skips preferred names it does not implement', () => {
    expect(chooseMechanism(['GSSAPI', 'NTLM', 'PLAIN'], ['GSSAPI', 'NTLM', 'PLAIN'])?.name).to.equal('PLAIN');
  });

  it('returns undefined when nothing matches', () => {
    expect(chooseMechanism(['GSSAPI', 'NTLM'])).to.equal(undefined);
  });
});
