import { Readable } from 'node:stream';
import { expect } from 'chai';
import { SmtpError } from '../../lib/errors';
import { type Envelope, prepareEnvelope } from '../../lib/mail/envelope';
import type { Mail } from '../../lib/mail/mail';
import { xtext } from '../../lib/mail/xtext';

/** A server's EHLO keywords, as the session records them. */
function caps(...keywords: string[]): Map<string, string> {
  return new Map(keywords.map((k) => [k.split(' ')[0]!, k.split(' ').slice(1).join(' ')]));
}

const mail = (overrides: Partial<Mail> = {}): Mail => ({ from: 'a@example.test', to: 'b@example.test', body: 'hi\r\n', ...overrides });

function prepare(m: Mail, capabilities = caps(), chunking = false): Envelope {
  return prepareEnvelope(m, { capabilities, chunking });
}

function refusal(m: Mail, capabilities = caps()): SmtpError {
  try {
    prepare(m, capabilities);
  } catch (err) {
    expect(err).to.be.instanceOf(SmtpError);
    return err as SmtpError;
  }
  throw new Error('the mail was accepted');
}

describe('mail/envelope', () => {
  describe('commands', () => {
    it('builds MAIL FROM and one RCPT TO per recipient, in order', () => {
      const envelope = prepare(mail({ to: ['b@example.test', 'c@example.test'] }));
      expect(envelope.mailFrom).to.equal('MAIL FROM:<a@example.test>');
      expect(envelope.rcptTo).to.deep.equal(['RCPT TO:<b@example.test>', 'RCPT TO:<c@example.test>']);
      expect(envelope.recipients).to.deep.equal(['b@example.test', 'c@example.test']);
    });

    it("sends MAIL FROM:<> for the null reverse-path ''", () => {
      expect(prepare(mail({ from: '' })).mailFrom).to.equal('MAIL FROM:<>');
    });

    it('declares SIZE= of the normalised content of an in-memory body', () => {
      expect(prepare(mail({ body: 'a\nb' }), caps('SIZE 1000')).mailFrom).to.equal('MAIL FROM:<a@example.test> SIZE=6');
    });

    it("declares SIZE= from mail.size for a streamed body", () => {
      const envelope = prepare(mail({ body: Readable.from([]), size: 4321 }), caps('SIZE'));
      expect(envelope.mailFrom).to.equal('MAIL FROM:<a@example.test> SIZE=4321');
      expect(envelope.body.kind).to.equal('stream');
    });

    it('declares no SIZE= when the server does not offer SIZE', () => {
      expect(prepare(mail()).mailFrom).to.equal('MAIL FROM:<a@example.test>');
    });

    it('adds BODY=8BITMIME when the server offers 8BITMIME', () => {
      expect(prepare(mail(), caps('8BITMIME')).mailFrom).to.equal('MAIL FROM:<a@example.test> BODY=8BITMIME');
    });

    it('adds SMTPUTF8 when an address is not ASCII', () => {
      const envelope = prepare(mail({ to: 'josé@example.test' }), caps('SMTPUTF8'));
      expect(envelope.mailFrom).to.equal('MAIL FROM:<a@example.test> SMTPUTF8');
      expect(envelope.rcptTo).to.deep.equal(['RCPT TO:<josé@example.test>']);
    });

    it('adds no SMTPUTF8 for ASCII addresses, even when offered', () => {
      expect(prepare(mail(), caps('SMTPUTF8')).mailFrom).to.equal('MAIL FROM:<a@example.test>');
    });

    it('takes the bare address of a sender and recipients written with names, and splits lists', () => {
      const envelope = prepare(mail({ from: '"Alice" <a@example.test>', to: ['Bob <b@example.test>, "Doe, John" <j@example.test>', 'c@example.test'] }));
      expect(envelope.mailFrom).to.equal('MAIL FROM:<a@example.test>');
      expect(envelope.recipients).to.deep.equal(['b@example.test', 'j@example.test', 'c@example.test']);
      expect(envelope.rcptTo).to.deep.equal(['RCPT TO:<b@example.test>', 'RCPT TO:<j@example.test>', 'RCPT TO:<c@example.test>']);
    });

    it('sends the bare address as ORCPT', () => {
      const envelope = prepare(mail({ to: 'Bob <b@example.test>', dsn: { orcpt: true } }), caps('DSN'));
      expect(envelope.rcptTo).to.deep.equal(['RCPT TO:<b@example.test> ORCPT=rfc822;b@example.test']);
    });

    it('dot-stuffs an in-memory body for DATA and not for BDAT', () => {
      const data = prepare(mail({ body: '.x' })).body;
      const bdat = prepare(mail({ body: '.x' }), caps(), true).body;
      expect(data.kind === 'memory' && data.data.toString()).to.equal('..x\r\n');
      expect(bdat.kind === 'memory' && bdat.data.toString()).to.equal('.x\r\n');
    });
  });

  describe('DSN (RFC 3461)', () => {
    it('puts RET and ENVID (xtext) on MAIL FROM', () => {
      const envelope = prepare(mail({ dsn: { ret: 'HDRS', envid: 'id+1=2 é' } }), caps('DSN'));
      expect(envelope.mailFrom).to.equal('MAIL FROM:<a@example.test> RET=HDRS ENVID=id+2B1+3D2+20+C3+A9');
    });

    it('puts NOTIFY and ORCPT (xtext) on every RCPT TO', () => {
      const envelope = prepare(
        mail({ to: ['b+tag@example.test', 'c@example.test'], dsn: { notify: ['SUCCESS', 'FAILURE'], orcpt: true } }),
        caps('DSN'),
      );
      expect(envelope.rcptTo).to.deep.equal([
        'RCPT TO:<b+tag@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Btag@example.test',
        'RCPT TO:<c@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@example.test',
      ]);
    });

    it('sends one original recipient given as a string as every ORCPT (nodemailer’s dsn.recipient), rfc822; added when no type is named', () => {
      // DsnOptions.orcpt is typed boolean until mail.ts allows the string (a change for the core's owner).
      const orcpt = (value: string) => value as unknown as boolean;
      expect(prepare(mail({ to: ['b@example.test', 'c@example.test'], dsn: { orcpt: orcpt('o+1@example.test') } }), caps('DSN')).rcptTo).to.deep.equal([
        'RCPT TO:<b@example.test> ORCPT=rfc822;o+2B1@example.test',
        'RCPT TO:<c@example.test> ORCPT=rfc822;o+2B1@example.test',
      ]);
      expect(prepare(mail({ dsn: { orcpt: orcpt('utf-8;o@example.test') } }), caps('DSN')).rcptTo).to.deep.equal(['RCPT TO:<b@example.test> ORCPT=utf-8;o@example.test']);
      expect(refusal(mail({ dsn: { orcpt: orcpt('') } }), caps('DSN')).code).to.equal('EINVAL');
    });

    it('sends NOTIFY=NEVER', () => {
      expect(prepare(mail({ dsn: { notify: 'NEVER' } }), caps('DSN')).rcptTo).to.deep.equal(['RCPT TO:<b@example.test> NOTIFY=NEVER']);
    });

    it('is ENOTSUP when the server does not offer DSN', () => {
      expect(refusal(mail({ dsn: { ret: 'FULL' } })).code).to.equal('ENOTSUP');
    });

    const bad: [string, Mail['dsn']][] = [
      ['an unknown RET', { ret: 'ALL' as 'FULL' }],
      ['an empty ENVID', { envid: '' }],
      ['an ENVID over 100 characters once encoded', { envid: '+'.repeat(34) }],
      ['an unknown NOTIFY value', { notify: ['ALWAYS' as 'SUCCESS'] }],
      ['an empty NOTIFY list', { notify: [] }],
    ];
    for (const [what, dsn] of bad) {
      it(`is EINVAL for ${what}`, () => {
        expect(refusal(mail({ dsn }), caps('DSN')).code).to.equal('EINVAL');
      });
    }
  });

  describe('refusals before anything is sent', () => {
    it('is EINVAL for an empty recipient list', () => {
      expect(refusal(mail({ to: [] })).code).to.equal('EINVAL');
    });

    it('is EINVAL for an empty recipient', () => {
      expect(refusal(mail({ to: ['b@example.test', ''] })).code).to.equal('EINVAL');
    });

    it('is EINVAL for a sender with CRLF', () => {
      expect(refusal(mail({ from: 'a@example.test>\r\nRSET' })).code).to.equal('EINVAL');
    });

    it('is EINVAL naming the mistake for a recipient that is not an address', () => {
      const error = refusal(mail({ to: 'Bob <b@example.test' }));
      expect(error.code).to.equal('EINVAL');
      expect(error.message).to.equal('a recipient "Bob <b@example.test" is not an address: a < has no matching > (or the reverse)');
    });

    it('is EINVAL for a sender that is a list', () => {
      expect(refusal(mail({ from: 'a@example.test, z@example.test' })).message).to.contain('must be exactly one address');
    });

    it('is EINVAL for a recipient list that is only an empty group', () => {
      expect(refusal(mail({ to: 'undisclosed-recipients:;' })).message).to.equal('a mail needs at least one recipient');
    });

    it('is EINVAL for a sender that is not a string', () => {
      expect(refusal(mail({ from: undefined as unknown as string })).code).to.equal('EINVAL');
    });

    it('is EINVAL for a negative or fractional size', () => {
      expect(refusal(mail({ body: Readable.from([]), size: -1 })).code).to.equal('EINVAL');
      expect(refusal(mail({ body: Readable.from([]), size: 1.5 })).code).to.equal('EINVAL');
    });

    it('is ENOTSUP for a non-ASCII sender when the server does not offer SMTPUTF8', () => {
      expect(refusal(mail({ from: 'josé@example.test' })).code).to.equal('ENOTSUP');
    });

    it('is EMSGSIZE for an in-memory body over the SIZE limit', () => {
      const error = refusal(mail({ body: 'x'.repeat(99) }), caps('SIZE 100'));
      expect(error.code).to.equal('EMSGSIZE');
      expect(error.message).to.contain('101 octets');
    });

    it('is EMSGSIZE for a declared size over the SIZE limit', () => {
      expect(refusal(mail({ body: Readable.from([]), size: 101 }), caps('SIZE 100')).code).to.equal('EMSGSIZE');
    });

    it('accepts a body of exactly the SIZE limit', () => {
      expect(prepare(mail({ body: 'x'.repeat(98) }), caps('SIZE 100')).mailFrom).to.equal('MAIL FROM:<a@example.test> SIZE=100');
    });

    it('applies no limit for SIZE without a number, or SIZE 0', () => {
      expect(() => prepare(mail({ body: 'x'.repeat(5000) }), caps('SIZE'))).not.to.throw();
      expect(() => prepare(mail({ body: 'x'.repeat(5000) }), caps('SIZE 0'))).not.to.throw();
    });
  });

  describe('xtext', () => {
    it('encodes "+", "=", space, controls and non-ASCII as +XX and keeps the rest', () => {
      expect(xtext('a+b=c d\r\n~')).to.equal('a+2Bb+3Dc+20d+0D+0A~');
      expect(xtext('é')).to.equal('+C3+A9');
    });
  });
});
