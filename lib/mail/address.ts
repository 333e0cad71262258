import { invalid } from '../errors';

/** RFC 5321 4.5.3.1.3: a path is at most 256 octets, brackets included. */
export const MAX_PATH_OCTETS = 256;

/**
 * Checks a mailbox before it goes into MAIL FROM or RCPT TO, throwing `EINVAL` for anything that
 * could add a line or a parameter on the wire: CR, LF, NUL or characters that narrow to them, `<`,
 * `>`, controls, or spaces outside a quoted local part, and a path over 256 octets.
 * Returns whether the address needs SMTPUTF8 (RFC 6531: any non-ASCII character).
 *
 * @example
 * ```ts
 * checkMailbox('user@example.com', 'recipient'); // false
 * checkMailbox('josé@example.com', 'recipient'); // true
 * ```
 */
export function checkMailbox(address: unknown, what: string): boolean {
  if (typeof address !== 'string') throw invalid(`${what} must be a string`);
  if (Buffer.byteLength(address, 'utf8') + 2 > MAX_PATH_OCTETS) throw invalid(`${what} is longer than ${MAX_PATH_OCTETS - 2} octets`);
  let quoted = false;
  let escaped = false;
  let nonAscii = false;
  for (let i = 0; i < address.length; i++) {
    const code = address.charCodeAt(i);
    const low = code & 0xff;
    if (low === 0x0a || low === 0x0d || low === 0x00) throw invalid(`${what} contains CR, LF or NUL (or a character that narrows to one)`);
    if (code < 0x20 || code === 0x7f || (code >= 0x80 && code <= 0x9f)) throw invalid(`${what} contains a control character`);
    if (code === 0x3c || code === 0x3e) throw invalid(`${what} must not contain < or >`);
    if (code > 0x7f) nonAscii = true;
    if (escaped) escaped = false; // the second half of a quoted-pair is literal (and was checked above)
    else if (code === 0x5c && quoted) escaped = true;
    else if (code === 0x22) quoted = !quoted;
    else if (code === 0x20 && !quoted) throw invalid(`${what} contains a space outside a quoted local part`);
  }
  if (quoted) throw invalid(`${what} has an unterminated quoted local part`);
  return nonAscii;
}
