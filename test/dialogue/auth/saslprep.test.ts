import { expect } from 'chai';
import { SmtpError } from '../../../lib/errors';
import { saslprep } from '../../../lib/dialogue/auth/scram';

describe('saslprep', () => {
  it('leaves plain ASCII alone', () => {
    expect(saslprep('pencil')).to.equal('pencil');
  });

  it('maps U+00A0 and other non-ASCII spaces to SPACE', () => {
    expect(saslprep('a\u00a0b\u2003c\u3000d')).to.equal('a b c d');
  });

  it('removes U+00AD SOFT HYPHEN (RFC 4013 section 3 example)', () => {
    expect(saslprep('I\u00adX')).to.equal('IX');
  });

  it('removes zero-width joiners and variation selectors', () => {
    expect(saslprep('a\u200db\ufe0fc\u2060')).to.equal('abc');
  });

  it('normalises to NFKC (RFC 4013 section 3 examples)', () => {
    expect(saslprep('\u00aa')).to.equal('a');
    expect(saslprep('\u2168')).to.equal('IX');
  });

  it('keeps case (RFC 4013 section 3 example)', () => {
    expect(saslprep('USER')).to.equal('USER');
  });

  it('rejects a control character with EINVAL (RFC 4013 section 3 example)', () => {
    expect(() => saslprep('\u0007')).to.throw(SmtpError).with.property('code', 'EINVAL');
  });

  it('rejects private use, lone surrogates and non-characters with EINVAL', () => {
    for (const text of ['a\ue000', 'a\ud800', 'a\ufffe', 'a\u{10fffd}', '\u200e']) {
      expect(() => saslprep(text), JSON.stringify(text)).to.throw(SmtpError).with.property('code', 'EINVAL');
    }
  });

  it('names the prohibited code point without echoing the password', () => {
    expect(() => saslprep('secret\u0001')).to.throw(SmtpError, /U\+0001/).with.property('message').that.does.not.include('secret');
  });
});
