/**
 * How much server text may reach an error message, the transcript or a log:
 * enough for any real diagnostic, too little for a hostile server to flood a terminal or a log file.
 *
 * @example
 * ```ts
 * import { MAX_DISPLAY_LENGTH } from 'rx-smtp'; // 512 characters
 * ```
 */
export const MAX_DISPLAY_LENGTH = 512;

// C0 and C1 controls and DEL; an ANSI escape sequence starts with ESC (C0) or CSI (C1),
// so replacing every control character disarms every escape sequence as well. Also the Unicode
// line and paragraph separators (a fake log line) and the bidi embeddings, overrides and isolates
// (text shown in another order than it reads, CVE-2021-42574).
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Makes server-supplied text safe to show: control characters (ANSI escapes included) become U+FFFD
 * and the text is cut to `max` characters with an ellipsis.
 *
 * @example
 * ```ts
 * sanitize('550 \u001b[31mred\u001b[0m'); // '550 \ufffd[31mred\ufffd[0m'
 * ```
 */
export function sanitize(text: string, max: number = MAX_DISPLAY_LENGTH): string {
  const clean = text.replace(CONTROL_CHARACTERS, '\ufffd');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
