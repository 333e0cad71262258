/**
 * What a body should look like on the wire, computed independently of lib/body: the reference the
 * encoder and the servers' received messages are compared with.
 */

const LINE_ENDING = /\r\n|\r|\n/g;

/**
 * Every line ending (CRLF, bare CR, bare LF) as CRLF, and a CRLF added when non-empty content does
 * not end in one: what a server must receive, once unstuffed.
 *
 * @example
 * ```ts
 * crlfNormalise(Buffer.from('a\rb')).toString(); // 'a\r\nb\r\n'
 * ```
 */
export function crlfNormalise(input: Uint8Array | string): Buffer {
  const text = (typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input)).toString('latin1');
  const lines = text.replace(LINE_ENDING, '\r\n');
  return Buffer.from(lines === '' || lines.endsWith('\r\n') ? lines : `${lines}\r\n`, 'latin1');
}

/**
 * RFC 5321 4.5.2: a "." at the start of a line gets another. So does a line whose first byte
 * other than NUL is ".", the extra dot first, for receivers that drop NUL (smuggling's NUL variants).
 */
export function dotStuff(content: Buffer): Buffer {
  return Buffer.from(content.toString('latin1').replace(/(^|\r\n)(\0*\.)/g, '$1.$2'), 'latin1');
}

/** The sequences that end DATA on a lax server (SMTP smuggling, 2023), each between two lines. */
export const SMUGGLING = ['\n.\n', '\n.\r', '\r.\n', '\r.\r', '\n.\r\n', '\r.\r\n', '\r\n.\r\r\n', '\r\r\n.\r\r\n', '\r\n.\n', '\r\n.\r'];

/** A smuggling attempt: a first message, the sequence, and a second message's commands. */
export function smugglingBody(sequence: string): string {
  return `Subject: first\r\n\r\nhello${sequence}MAIL FROM:<evil@example.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n`;
}

/** A printable name for a byte sequence, for test titles. */
export function show(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
