import { expect } from 'chai';
import { SmtpError, type SmtpErrorCode, replyError } from '../../lib/errors';
import { SendAllError } from '../../lib/send/send-all-error';
import { classifyFailure } from '../../lib/pool';

const reply = (code: number, text: string) => {
  const m = /^(\d)\.(\d{1,3})\.(\d{1,3}) /.exec(text);
  return { code, lines: [text], ...(m && { enhanced: { class: +m[1]!, subject: +m[2]!, detail: +m[3]! } }) };
};

describe('pool/classify', () => {
  it('a 5xx is permanent', () => {
    expect(classifyFailure(replyError(reply(550, '5.1.1 No such user'), 'RCPT TO:<a@b>'))).to.equal('permanent');
    expect(classifyFailure(replyError(reply(554, 'Transaction failed'), 'DATA'))).to.equal('permanent');
  });

  it('a 4xx, greylisting included, is transient', () => {
    expect(classifyFailure(replyError(reply(450, '4.7.1 Greylisted'), 'RCPT TO:<a@b>'))).to.equal('transient');
    expect(classifyFailure(replyError(reply(451, '4.7.1 Try again later'), 'DATA'))).to.equal('transient');
    expect(classifyFailure(replyError(reply(421, '4.3.2 Shutting down'), 'MAIL FROM:<>'))).to.equal('transient');
  });

  it('the enhanced status class decides when the server gives one', () => {
    // A 550 whose enhanced code says "temporary" (seen with greylisting proxies) is worth a retry.
    expect(classifyFailure(replyError(reply(550, '4.7.1 Greylisted'), 'RCPT TO:<a@b>'))).to.equal('transient');
  });

  it('a lost connection is transient; a mail that can never go as it is, permanent', () => {
    for (const code of ['ESHUTDOWN', 'ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'ESERVERSYNC']) {
      expect(classifyFailure(new SmtpError(code as SmtpErrorCode, 'x')), code).to.equal('transient');
    }
    for (const code of ['EINVAL', 'EMSGSIZE', 'ENOTSUP', 'EPROTO', 'ECANCELED']) {
      expect(classifyFailure(new SmtpError(code as SmtpErrorCode, 'x')), code).to.equal('permanent');
    }
  });

  it('a SendAllError with a mail in uncertain is uncertain; with only mails not sent, its cause decides', () => {
    const mail = { from: 'a@example.com', to: 'b@example.com', body: 'x' };
    const lost = new SmtpError('ECONNRESET', 'reset');
    expect(classifyFailure(new SendAllError(lost, { delivered: [], uncertain: [{ index: 0, mail }], notSent: [] }))).to.equal('uncertain');
    expect(classifyFailure(new SendAllError(lost, { delivered: [], uncertain: [], notSent: [{ index: 0, mail }] }))).to.equal('transient');
  });

  it('a certificate that fails verification is permanent: a retry meets the same certificate', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN']) {
      expect(classifyFailure(new SmtpError(code as SmtpErrorCode, 'x')), code).to.equal('permanent');
    }
  });
});
