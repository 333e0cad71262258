import { expect } from 'chai';
import { MAX_EHLO_KEYWORDS, parseCapabilities } from '../../lib/dialogue/capabilities';
import { SmtpError } from '../../lib/errors';
import type { SmtpReply } from '../../lib/reply/reply';

const ehloReply = (...extensions: string[]): SmtpReply => ({ code: 250, lines: ['mx.test greets client.test', ...extensions] });
const keywords = (count: number): string[] => Array.from({ length: count }, (_, i) => `X-EXT${i}`);

describe('dialogue/capabilities', () => {
  it('skips the first line: it is the server name, even when it looks like a keyword', () => {
    expect([...parseCapabilities({ code: 250, lines: ['SIZE', 'PIPELINING'] }).keys()]).to.deep.equal(['PIPELINING']);
  });

  it('gives an empty map for a one-line EHLO reply', () => {
    expect(parseCapabilities({ code: 250, lines: ['mx.test'] }).size).to.equal(0);
  });

  it('upper-cases keywords and keeps their parameters as sent', () => {
    const capabilities = parseCapabilities(ehloReply('size 10240000', 'Auth plain Login', '8bitmime'));
    expect([...capabilities]).to.deep.equal([
      ['SIZE', '10240000'],
      ['AUTH', 'plain Login'],
      ['8BITMIME', ''],
    ]);
  });

  it('trims the line and the parameters', () => {
    const capabilities = parseCapabilities(ehloReply('  SIZE    1000  ', 'DSN '));
    expect(capabilities.get('SIZE')).to.equal('1000');
    expect(capabilities.get('DSN')).to.equal('');
  });

  it('merges the obsolete AUTH= form into AUTH, each mechanism once', () => {
    const capabilities = parseCapabilities(ehloReply('AUTH PLAIN LOGIN', 'AUTH=LOGIN CRAM-MD5'));
    expect(capabilities.get('AUTH')).to.equal('PLAIN LOGIN CRAM-MD5');
    expect(capabilities.size).to.equal(1);
  });

  it('reads AUTH= alone as AUTH', () => {
    expect(parseCapabilities(ehloReply('AUTH=PLAIN')).get('AUTH')).to.equal('PLAIN');
  });

  it('ignores lines that are not RFC 5321 ehlo-keywords', () => {
    const capabilities = parseCapabilities(ehloReply('-DASH', '', 'X_UNDERSCORE 1', 'ÜBER', '*', 'OK-KEY 1'));
    expect([...capabilities.keys()]).to.deep.equal(['OK-KEY']);
  });

  it(`keeps exactly ${MAX_EHLO_KEYWORDS} keywords`, () => {
    expect(parseCapabilities(ehloReply(...keywords(MAX_EHLO_KEYWORDS))).size).to.equal(MAX_EHLO_KEYWORDS);
  });

  it(`throws ESERVERSYNC at keyword ${MAX_EHLO_KEYWORDS + 1}, with the reply and EHLO as the command`, () => {
    const reply = ehloReply(...keywords(MAX_EHLO_KEYWORDS + 1));
    expect(MAX_EHLO_KEYWORDS).to.equal(128);
    expect(() => parseCapabilities(reply))
      .to.throw(SmtpError, `EHLO reply lists more than ${MAX_EHLO_KEYWORDS} extensions`)
      .that.includes({ code: 'ESERVERSYNC', reply, command: 'EHLO' });
  });

  it('does not count ignored lines or a second AUTH line toward the bound', () => {
    const reply = ehloReply(...keywords(MAX_EHLO_KEYWORDS - 1), 'AUTH PLAIN', 'AUTH=LOGIN', '-bad', '-worse');
    const capabilities = parseCapabilities(reply);
    expect(capabilities.size).to.equal(MAX_EHLO_KEYWORDS);
    expect(capabilities.get('AUTH')).to.equal('PLAIN LOGIN');
  });

  it('does not count a repeated keyword toward the bound: the last one wins', () => {
    const capabilities = parseCapabilities(ehloReply(...keywords(MAX_EHLO_KEYWORDS), 'x-ext0 again'));
    expect(capabilities.size).to.equal(MAX_EHLO_KEYWORDS);
    expect(capabilities.get('X-EXT0')).to.equal('again');
  });
});
