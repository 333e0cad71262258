/**
 * RFC 3461 4: xtext, for ENVID and ORCPT values. Printable ASCII other than "+" and "=" stands for
 * itself; every other octet (of the UTF-8 encoding) is "+" and two upper-case hex digits. CR, LF and
 * NUL therefore can never reach the wire raw.
 *
 * @example
 * ```ts
 * xtext('a+b=c d'); // 'a+2Bb+3Dc+20d'
 * ```
 */
export function xtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte >= 0x21 && byte <= 0x7e && byte !== 0x2b && byte !== 0x3d ? String.fromCharCode(byte) : `+${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
