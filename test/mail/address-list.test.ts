import { expect } from 'chai';
import fc from 'fast-check';
import { SmtpError } from '../../lib/errors';
import { envelopeAddresses, envelopeSender } from '../../lib/mail/address-list';

function refusal(fn: () => unknown): SmtpError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(SmtpError);
    return err as SmtpError;
  }
  throw new Error('the text was accepted');
}

const recipients = (text: unknown): string[] => envelopeAddresses(text, 'a recipient');

describe('mail/address-list', () => {
  describe('takes the bare addresses of', () => {
    const cases: [string, string, string[]][] = [
      ['a bare address', 'bob@example.com', ['bob@example.com']],
      ['a display name and angle brackets', 'Bob <bob@example.com>', ['bob@example.com']],
      ['a quoted display name', '"Alice" <a@example.com>', ['a@example.com']],
      ['a quoted display name with a comma', '"Doe, John" <john@example.com>', ['john@example.com']],
      ['a comma-separated list', 'a@example.com, Bob <b@example.com>,c@example.com', ['a@example.com', 'b@example.com', 'c@example.com']],
      ['a list folded over lines', 'a@example.com,\r\n b@example.com', ['a@example.com', 'b@example.com']],
      ['a group', 'team: a@example.com, b@example.com;', ['a@example.com', 'b@example.com']],
      ['an address with a comment', 'bob@example.com (Bob at work)', ['bob@example.com']],
      ['angle brackets alone', '<bob@example.com>', ['bob@example.com']],
      ['a UTF-8 display name and address (RFC 6532)', 'Jösé <jösé@exämple.com>', ['jösé@exämple.com']],
      ['an RFC 2047 display name', '=?utf-8?q?B=C3=B6b?= <b@example.com>', ['b@example.com']],
      ['a domain literal', 'Box <x@[IPv6:::1]>', ['x@[IPv6:::1]']],
      ['an obsolete local part with spaces around its dot', 'a . b@example.com', ['a.b@example.com']],
    ];
    for (const [what, text, expected] of cases) {
      it(what, () => {
        expect(recipients(text)).to.deep.equal(expected);
      });
    }

    it('a quoted local part, quoted again for the envelope (space and escaped quote kept)', () => {
      expect(recipients('Bob <"john smith"@example.com>')).to.deep.equal(['"john smith"@example.com']);
      expect(recipients('"a\\" b"@example.com, x@example.com')).to.deep.equal(['"a\\" b"@example.com', 'x@example.com']);
    });

    it('an empty group: no address at all', () => {
      expect(recipients('undisclosed-recipients:;')).to.deep.equal([]);
    });

    it('a text without any list or name syntax as it is, for checkMailbox to judge', () => {
      expect(recipients('b@example.com')).to.deep.equal(['b@example.com']);
      expect(recipients('')).to.deep.equal(['']);
    });
  });

  describe('refuses with EINVAL, naming the mistake', () => {
    const cases: [string, string, RegExp][] = [
      ['a < without its >', 'Bob <bob@example.com', /a < has no matching >/],
      ['an unclosed quote', '"Bob <bob@example.com>', /a quoted string is not closed/],
      ['text after the >', 'Bob <bob@example.com> extra', /text after a closing >/],
      ['an empty entry', 'a@example.com,, b@example.com', /an entry between commas is empty/],
      ['a trailing comma', 'a@example.com, ', /an entry between commas is empty/],
      ['semicolons as separators', 'a@example.com; b@example.com', /separated by ";": use ","/],
      ['a name without an address', 'a@example.com, Bob Smith', /"Bob Smith" has no @/],
      ['two @', 'Bob <a@b@example.com>', /not an RFC 5322 address list/],
    ];
    for (const [what, text, message] of cases) {
      it(what, () => {
        const error = refusal(() => recipients(text));
        expect(error.code).to.equal('EINVAL');
        expect(error.message).to.match(message);
        expect(error.message).to.contain(`a recipient ${JSON.stringify(text)} is not an address`);
      });
    }

    it('an address with a comma (a quoted local part): a list must never pass as one address', () => {
      const error = refusal(() => recipients('"a,b"@example.com'));
      expect(error.code).to.equal('EINVAL');
      expect(error.message).to.contain('comma');
    });

    it('a value that is not a string', () => {
      expect(refusal(() => recipients(42)).message).to.equal('a recipient must be a string');
    });
  });

  describe('the sender', () => {
    it('is one address, written as people do', () => {
      expect(envelopeSender('"Alice" <alice@example.com>')).to.equal('alice@example.com');
    });

    it('is EINVAL for a list, naming how many', () => {
      const error = refusal(() => envelopeSender('a@example.com, b@example.com'));
      expect(error.code).to.equal('EINVAL');
      expect(error.message).to.contain('must be exactly one address, not 2');
    });

    it('is EINVAL for an empty group', () => {
      expect(refusal(() => envelopeSender('nobody:;')).code).to.equal('EINVAL');
    });
  });

  describe('properties', () => {
    const local = fc.stringMatching(/^[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,2}$/);
    const domain = fc.stringMatching(/^[a-z0-9]{1,10}(\.[a-z]{2,6}){1,2}$/);
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z ,.']{0,20}$/);
    const mailbox = fc.record({ local, domain, name: fc.option(name, { nil: undefined }) });

    it('any list of mailboxes written with names gives back exactly their addresses, in order', () => {
      fc.assert(
        fc.property(fc.array(mailbox, { minLength: 1, maxLength: 5 }), (boxes) => {
          const text = boxes.map((b) => (b.name === undefined ? `${b.local}@${b.domain}` : `"${b.name}" <${b.local}@${b.domain}>`)).join(', ');
          expect(recipients(text)).to.deep.equal(boxes.map((b) => `${b.local}@${b.domain}`));
        }),
      );
    });

    it('no address it returns holds a comma, CR or LF, whatever the text', () => {
      fc.assert(
        fc.property(fc.string({ unit: fc.constantFrom('a', '@', ',', '"', '<', '>', ' ', '\r', '\n', ':', ';', '.', '\\', '(', ')') }), (text) => {
          let addresses: string[];
          try {
            addresses = recipients(text);
          } catch (err) {
            expect((err as SmtpError).code).to.equal('EINVAL');
            return;
          }
          if (addresses.length === 1 && addresses[0] === text) return; // bare text: checkMailbox's to judge
          for (const address of addresses) expect(address).to.not.match(/[,\r\n]/);
        }),
      );
    });
  });
});
