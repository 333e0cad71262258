import { expect } from 'chai';
import { expectReply } from '../../lib/dialogue/expect';
import { SmtpError } from '../../lib/errors';
import type { SmtpReply } from '../../lib/reply/reply';

/** Runs expectReply and returns what it threw; fails the test when it returns instead. */
function thrown(reply: SmtpReply, accepted: readonly number[], command: string | undefined): SmtpError {
  try {
    expectReply(reply, accepted, command);
  } catch (err) {
    expect(err).to.be.instanceOf(SmtpError);
    return err as SmtpError;
  }
  throw new Error('expected expectReply to throw');
}

describe('dialogue/expect', () => {
  it('returns the reply itself when its code is one the command takes', () => {
    const ok: SmtpReply = { code: 251, lines: ['will forward'] };
    expect(expectReply(ok, [250, 251], 'RCPT TO:<a@b.test>')).to.equal(ok);
  });

  it('turns a 4xx the command does not take into ESERVERTEMP with the reply and the command', () => {
    const busy: SmtpReply = { code: 451, lines: ['4.3.0 try later'], enhanced: { class: 4, subject: 3, detail: 0 } };
    const error = thrown(busy, [250], 'MAIL FROM:<a@b.test>');
    expect(error.code).to.equal('ESERVERTEMP');
    expect(error.reply).to.equal(busy);
    expect(error.command).to.equal('MAIL FROM:<a@b.test>');
    expect(error.message).to.equal('Temporary failure to MAIL FROM:<a@b.test>: 451 4.3.0 try later');
  });

  it('turns a 5xx into ESERVERPERM', () => {
    const error = thrown({ code: 550, lines: ['no such user'] }, [250], 'RCPT TO:<x@b.test>');
    expect(error.code).to.equal('ESERVERPERM');
    expect(error.message).to.equal('Permanent failure to RCPT TO:<x@b.test>: 550 no such user');
  });

  it('turns a 2xx or 3xx the command cannot take into ESERVERSYNC', () => {
    expect(thrown({ code: 354, lines: ['go on'] }, [250], 'EHLO c').code).to.equal('ESERVERSYNC');
    expect(thrown({ code: 221, lines: ['bye'] }, [235, 334], 'AUTH PLAIN').code).to.equal('ESERVERSYNC');
  });

  it('decides by the accepted list, not by the class: a 5xx listed is accepted', () => {
    const reply: SmtpReply = { code: 502, lines: ['not implemented'] };
    expect(expectReply(reply, [250, 502], 'VRFY x')).to.equal(reply);
  });

  it('names no command for the greeting', () => {
    const error = thrown({ code: 554, lines: ['go away'] }, [220], undefined);
    expect(error.command).to.equal(undefined);
    expect(error.message).to.equal('Permanent failure: 554 go away');
  });

  it('shows every line of a multi-line reply in the message, disarmed', () => {
    const error = thrown({ code: 550, lines: ['first', 'second\x1b[31m'] }, [250], 'DATA');
    expect(error.message).to.not.include('\x1b');
    expect(error.message).to.match(/^Permanent failure to DATA: 550-first \| 550 second/);
  });
});
