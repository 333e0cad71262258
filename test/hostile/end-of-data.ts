/**
 * What SMTP smuggling (CVE-2023-51764/51765/51766) needs from a client, and how to prove a client
 * never gives it: DATA content in which some receiver finds an end of data before the real one.
 * Receivers differ in what they take for one: `CRLF.CRLF` (strict), a bare LF or CR instead of
 * either CRLF (`\n.\n`, `\r.\r`, `\n.\r\n`, ...), or any of those once NUL bytes are dropped.
 */

/** The published payloads (SEC Consult's list and its NUL variants), as the body would carry them. */
export const SMUGGLING_PAYLOADS: readonly string[] = [
  '\n.\n',
  '\n.\r',
  '\r.\n',
  '\r.\r',
  '\n.\r\n',
  '\r.\r\n',
  '\r\n.\r\r\n',
  '\r\r\n.\r\r\n',
  '\r\n.\n',
  '\r\n.\r',
  '\r\n\0.\r\n',
  '\r\n.\0\r\n',
  '\n\0.\n',
  '\r\0\n.\r\0\n',
  '\0\r\n.\r\n\0',
];

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const NUL = 0x00;

/**
 * Why `content` (DATA content as sent, dot-stuffed, before the final `.CRLF`) could end early on
 * some receiver; empty when it cannot. Checked as sent and with every NUL dropped: every CR is
 * followed by LF and every LF follows a CR (so a lenient receiver sees the same lines as a strict
 * one), and no line is a lone ".".
 *
 * @example
 * ```ts
 * endOfDataViolations(Buffer.from('a\n.\nb\r\n')); // ['bare LF at 1', ...]
 * ```
 */
export function endOfDataViolations(content: Buffer): string[] {
  return [...violations(content, 'as sent'), ...violations(Buffer.from(content.filter((b) => b !== NUL)), 'without NUL')];
}

function violations(bytes: Buffer, how: string): string[] {
  const found: string[] = [];
  if (bytes.length > 0 && (bytes.length < 2 || bytes[bytes.length - 2] !== CR || bytes[bytes.length - 1] !== LF)) {
    found.push(`${how}: does not end in CRLF`);
  }
  let lineStart = true;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === CR && bytes[i + 1] !== LF) found.push(`${how}: bare CR at ${i}`);
    if (byte === LF && bytes[i - 1] !== CR) found.push(`${how}: bare LF at ${i}`);
    if (lineStart && byte === DOT && (i + 1 === bytes.length || bytes[i + 1] === CR || bytes[i + 1] === LF)) {
      found.push(`${how}: a line that is a lone "." at ${i}`);
    }
    lineStart = byte === LF;
  }
  return found;
}

/** Undoes dot-stuffing (RFC 5321 4.5.2) in content that is known to be well formed. */
export function unstuff(content: Buffer): Buffer {
  return Buffer.from(content.toString('latin1').replace(/(^|\r\n)\./g, '$1'), 'latin1');
}
