import { expect } from 'chai';
import { composeMessage, rfc5322Date } from '../../lib/cli/message';

describe('rx-smtp message', () => {
  const fields = {
    from: 'a@example.com',
    to: ['b@example.com'],
    subject: 'hi',
    body: 'Hello\n',
    date: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)),
    messageId: 'id@example.com',
  };

  it('writes the minimal headers in order, then the body with CRLF line endings', () => {
    expect(composeMessage({ ...fields, body: 'a\nb\rc\r\nd' })).to.equal(
      'From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\nDate: Wed, 02 Jan 2030 03:04:05 +0000\r\n' +
        'Message-ID: <id@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\na\r\nb\r\nc\r\nd\r\n',
    );
  });

  it('folds several recipients onto continuation lines', () => {
    expect(composeMessage({ ...fields, to: ['b@example.com', 'c@example.com'] })).to.contain('To: b@example.com,\r\n c@example.com\r\n');
  });

  it('makes a Message-ID at the sender\'s domain when none is given', () => {
    const { messageId: _, ...rest } = fields;
    expect(composeMessage(rest)).to.match(/\r\nMessage-ID: <[0-9a-f-]{36}@example\.com>\r\n/);
  });

  it('sends a non-ASCII body base64-encoded, in lines of 76', () => {
    const body = 'é'.repeat(100);
    const message = composeMessage({ ...fields, body });
    const [head, encoded] = message.split('\r\n\r\n') as [string, string];
    expect(head).to.match(/\r\nContent-Transfer-Encoding: base64$/);
    expect(encoded.split('\r\n').slice(0, -1).every((line) => line.length <= 76)).to.equal(true);
    expect(Buffer.from(encoded.replace(/\r\n/g, ''), 'base64').toString('utf8')).to.equal(body);
  });

  it('sends an ASCII body with a line over 998 octets base64-encoded', () => {
    expect(composeMessage({ ...fields, body: 'x'.repeat(999) })).to.contain('Content-Transfer-Encoding: base64');
  });

  it('encodes a non-ASCII subject as UTF-8 encoded-words of at most 75 characters, never splitting a character', () => {
    const subject = 'Grüße '.repeat(20);
    const header = /\r\nSubject: (.*?)\r\nDate/s.exec(composeMessage({ ...fields, subject }))![1]!;
    const words = header.split('\r\n ');
    expect(words.every((w) => w.length <= 75 && /^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/.test(w))).to.equal(true);
    const decoded = words.map((w) => Buffer.from(w.slice(10, -2), 'base64').toString('utf8'));
    expect(decoded.join('')).to.equal(subject);
    expect(decoded.some((d) => d.includes('\ufffd'))).to.equal(false);
  });

  for (const [name, change] of [
    ['Subject', { subject: 'hi\r\nBcc: x@example.com' }],
    ['To', { to: ['b@example.com\nBcc: x@example.com'] }],
    ['From', { from: 'a@example.com\r' }],
  ] as const) {
    it(`refuses a line break in the ${name} header`, () => {
      expect(() => composeMessage({ ...fields, ...change })).to.throw(`the ${name} header must not contain a line break`);
    });
  }

  it('formats dates as RFC 5322 with a numeric zone', () => {
    expect(rfc5322Date(new Date(Date.UTC(1999, 11, 31, 23, 59, 59)))).to.equal('Fri, 31 Dec 1999 23:59:59 +0000');
  });
});
