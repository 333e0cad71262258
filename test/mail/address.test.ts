import { expect } from 'chai';
import { SmtpError } from '../../lib/errors';
import { MAX_PATH_OCTETS, checkMailbox } from '../../lib/mail/address';

function refusal(address: unknown): SmtpError {
  try {
    checkMailbox(address, 'a recipient');
  } catch (err) {
    expect(err).to.be.instanceOf(SmtpError);
    return err as SmtpError;
  }
  throw new Error(`${JSON.stringify(address)} was accepted`);
}

describe('mail/address', () => {
  describe('accepts', () => {
    it('an ordinary mailbox, as not needing SMTPUTF8', () => {
      expect(checkMailbox('user@example.test', 'a recipient')).to.equal(false);
    });

    it('a non-ASCII mailbox, as needing SMTPUTF8', () => {
      expect(checkMailbox('josé@exämple.test', 'a recipient')).to.equal(true);
    });

    it('a space inside a quoted local part', () => {
      expect(checkMailbox('"john smith"@example.test', 'a recipient')).to.equal(false);
    });

    it('an escaped quote inside a quoted local part', () => {
      expect(checkMailbox('"a\\" b"@example.test', 'a recipient')).to.equal(false);
    });

    it(`a mailbox of ${MAX_PATH_OCTETS - 2} octets (the path with its brackets is ${MAX_PATH_OCTETS})`, () => {
      const mailbox = `${'a'.repeat(MAX_PATH_OCTETS - 2 - '@example.test'.length)}@example.test`;
      expect(checkMailbox(mailbox, 'a recipient')).to.equal(false);
    });
  });

  describe('refuses with EINVAL', () => {
    const cases: [string, string][] = [
      ['CR', 'a\r@example.test'],
      ['LF', 'a\n@example.test'],
      ['CRLF and a command', 'a@example.test>\r\nRCPT TO:<b@example.test'],
      ['NUL', 'a\0@example.test'],
      ['U+010A, which narrows to LF', 'a\u010a@example.test'],
      ['U+010D, which narrows to CR', 'a\u010d@example.test'],
      ['<', '<a@example.test'],
      ['>', 'a@example.test>'],
      ['a tab', 'a\t@example.test'],
      ['DEL', 'a\x7f@example.test'],
      ['a C1 control', 'a\u0085@example.test'],
      ['a space', 'a b@example.test'],
      ['a space that would add a parameter', 'a@example.test NOTIFY=NEVER'],
      ['an unterminated quoted local part', '"a b@example.test'],
      [`${MAX_PATH_OCTETS - 1} octets`, `${'a'.repeat(MAX_PATH_OCTETS - 1 - '@example.test'.length)}@example.test`],
      ['too many octets once UTF-8 encoded', `${'é'.repeat(125)}@example.test`],
    ];
    for (const [what, address] of cases) {
      it(`an address with ${what}`, () => {
        expect(refusal(address).code).to.equal('EINVAL');
      });
    }

    it('a value that is not a string', () => {
      expect(refusal(42).code).to.equal('EINVAL');
    });
  });
});
