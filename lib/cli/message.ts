import { randomUUID } from 'node:crypto';

/** What the command line knows of a message. */
export interface MessageFields {
  from: string;
  to: readonly string[];
  subject: string;
  /** Plain text; any line endings. */
  body: string;
  /** Default: now. */
  date?: Date;
  /** Without angle brackets. Default: a random UUID at the sender's domain. */
  messageId?: string;
}

/** RFC 5322 2.1.1: a line is at most 998 octets without its CRLF. */
const MAX_LINE_OCTETS = 998;
/** RFC 2045 6.8: base64 lines are at most 76 characters. */
const BASE64_LINE = 76;
/** RFC 2047 2: an encoded-word is at most 75 characters; 45 octets of text encode to 60 of them. */
const ENCODED_WORD_OCTETS = 45;

// A CR or LF in a header value would start a header of the caller's choosing.
const LINE_BREAK_OR_NUL = /[\r\n\0]/;

/**
 * Builds the smallest complete message for the command line: From, To, Subject, Date, Message-ID,
 * MIME-Version, a `text/plain; charset=utf-8` body. Text that plain SMTP cannot carry (non-ASCII,
 * lines over 998 octets) is sent base64-encoded, so the message goes through servers without
 * 8BITMIME too; a non-ASCII subject becomes RFC 2047 encoded-words. Throws when a header value
 * holds a line break.
 *
 * @example
 * ```ts
 * composeMessage({ from: 'a@example.com', to: ['b@example.com'], subject: 'hi', body: 'Hello\n' });
 * // 'From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\nDate: ...\r\n\r\nHello\r\n'
 * ```
 */
export function composeMessage(fields: MessageFields): string {
  for (const [name, value] of [['From', fields.from], ['To', fields.to.join(', ')], ['Subject', fields.subject]] as const) {
    if (LINE_BREAK_OR_NUL.test(value)) throw new Error(`the ${name} header must not contain a line break or NUL`);
  }
  const domain = fields.from.slice(fields.from.lastIndexOf('@') + 1) || 'localhost';
  const text = fields.body.replace(/\r\n|\r|\n/g, '\r\n');
  const plain = isPlainText(text);
  const headers = [
    `From: ${fields.from}`,
    `To: ${fields.to.join(',\r\n ')}`,
    `Subject: ${encodeSubject(fields.subject)}`,
    `Date: ${rfc5322Date(fields.date ?? new Date())}`,
    `Message-ID: <${fields.messageId ?? `${randomUUID()}@${domain}`}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    ...(plain ? [] : ['Content-Transfer-Encoding: base64']),
  ];
  const body = plain ? text : base64Lines(Buffer.from(text, 'utf8'));
  const ending = body === '' || body.endsWith('\r\n') ? '' : '\r\n';
  return `${headers.join('\r\n')}\r\n\r\n${body}${ending}`;
}

/** RFC 5322 3.3, e.g. `Tue, 01 Jan 2030 00:00:00 +0000`. */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

function isPlainText(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) && text.split('\r\n').every((line) => line.length <= MAX_LINE_OCTETS);
}

function base64Lines(bytes: Buffer): string {
  const encoded = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < encoded.length; i += BASE64_LINE) lines.push(encoded.slice(i, i + BASE64_LINE));
  return lines.join('\r\n');
}

/** ASCII as is; anything else as `=?UTF-8?B?...?=` words, never splitting a character. */
function encodeSubject(subject: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x20-\x7e]*$/.test(subject)) return subject;
  const words: string[] = [];
  let chunk = '';
  for (const char of subject) {
    if (Buffer.byteLength(chunk + char) > ENCODED_WORD_OCTETS) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join('\r\n ');
}
