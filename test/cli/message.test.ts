import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { composeMessage } from '../../lib/cli/message';

/** The text of RFC 2047 encoded-words (B or Q), for checking what the composer wrote. */
function decodeWords(header: string): string {
  return header.replace(/\r\n /g, ' ').replace(/=\?UTF-8\?([BQ])\?([^?]*)\?=\s*/gi, (_, kind: string, text: string) =>
    kind.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (__, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8'),
  );
}

const split = (raw: Buffer): [string, string] => {
  const text = raw.toString('latin1');
  const at = text.indexOf('\r\n\r\n');
  return [text.slice(0, at), text.slice(at + 4)];
};

describe('rx-smtp message (nodemailer’s MailComposer)', () => {
  const fields = {
    from: 'Alice <a@example.com>',
    to: ['b@example.com, Carol <c@example.com>'],
    subject: 'hi',
    body: 'Hello\nworld\n',
    date: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)),
    messageId: '<id@example.com>',
  };
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rx-smtp-message-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes From, To (names and lists as given), Subject, Date, Message-ID, MIME-Version and a text/plain body with CRLF', async () => {
    const [head, body] = split(await composeMessage(fields));
    const lines = head.split('\r\n');
    expect(lines).to.include.members([
      'From: Alice <a@example.com>',
      'To: b@example.com, Carol <c@example.com>',
      'Subject: hi',
      'Date: Wed, 02 Jan 2030 03:04:05 +0000',
      'Message-ID: <id@example.com>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
    ]);
    expect(body).to.equal('Hello\r\nworld\r\n');
  });

  it('makes a Message-ID at the sender’s domain when none is given', async () => {
    const { messageId: _, ...rest } = fields;
    expect(split(await composeMessage(rest))[0]).to.match(/\r\nMessage-ID: <[0-9a-f-]{36}@example\.com>(\r\n|$)/);
  });

  for (const [encoding, text] of [
    ['quoted-printable', 'Grüße aus Köln. '.repeat(10).trim()],
    ['base64', 'é'.repeat(100)],
  ] as const) {
    it(`sends a non-ASCII body as ${encoding} (the composer’s choice for it), lines within 76, that decodes back`, async () => {
      const [head, body] = split(await composeMessage({ ...fields, body: text }));
      expect(head).to.contain(`Content-Transfer-Encoding: ${encoding}`);
      expect(body.split('\r\n').every((line) => line.length <= 76)).to.equal(true);
      const decoded =
        encoding === 'base64'
          ? Buffer.from(body, 'base64')
          : Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
      expect(decoded.toString('utf8').trimEnd()).to.equal(text);
    });
  }

  it('encodes a non-ASCII subject as encoded-words that decode back', async () => {
    const subject = 'Grüße '.repeat(20).trim();
    const [head] = split(await composeMessage({ ...fields, subject }));
    const header = /(?:^|\r\n)Subject: (.*?)(?=\r\n\S|$)/s.exec(head)![1]!;
    expect(header).to.match(/^[\x20-\x7e\r\n]*$/);
    expect(decodeWords(header)).to.equal(subject);
  });

  it('adds --header fields, keeps repeated ones, and lets one replace Subject', async () => {
    const headers = [
      ['X-Campaign', 'spring'],
      ['X-Tag', 'a'],
      ['X-Tag', 'b'],
      ['Subject', 'from a header'],
    ] as const;
    const [head] = split(await composeMessage({ ...fields, headers }));
    const lines = head.split('\r\n');
    expect(lines).to.include.members(['X-Campaign: spring', 'X-Tag: a', 'X-Tag: b', 'Subject: from a header']);
    expect(lines.filter((l) => l.startsWith('Subject:'))).to.have.length(1);
  });

  it('attaches files as base64 parts of multipart/mixed, named and typed after the file', async () => {
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) % 256));
    writeFileSync(join(dir, 'report.pdf'), bytes);
    writeFileSync(join(dir, 'notes.txt'), 'plain notes\n');
    const raw = (await composeMessage({ ...fields, attach: [join(dir, 'report.pdf'), join(dir, 'notes.txt')] })).toString('latin1');
    expect(raw).to.match(/\r\nContent-Type: multipart\/mixed; boundary="[^"]+"/);
    const pdf = /Content-Type: application\/pdf; name=report\.pdf\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=report\.pdf\r\n\r\n([A-Za-z0-9+/=\r\n]+)\r\n--/.exec(raw);
    expect(pdf, raw.slice(0, 2000)).to.not.equal(null);
    expect(Buffer.from(pdf![1]!.replace(/\r\n/g, ''), 'base64').equals(bytes)).to.equal(true);
    expect(raw).to.contain('Content-Type: text/plain; name=notes.txt');
    expect(raw).to.contain('\r\n\r\nHello\r\nworld\r\n');
  });

  it('rejects when an attachment cannot be read', async () => {
    const error = await composeMessage({ ...fields, attach: [join(dir, 'missing.pdf')] }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).to.match(/ENOENT/);
  });
});
