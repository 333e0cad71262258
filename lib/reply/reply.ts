/**
 * A parsed SMTP reply (RFC 5321 section 4.2).
 *
 * @example
 * ```ts
 * const reply: SmtpReply = { code: 250, lines: ['2.1.0 Ok'], enhanced: { class: 2, subject: 1, detail: 0 } };
 * ```
 */
export interface SmtpReply {
  /** The three-digit reply code, e.g. 250. */
  code: number;
  /** The text of each line after the code and its separator, enhanced status code included. */
  lines: string[];
  /** The RFC 3463 enhanced status code, when the first line carries one whose class matches the reply code. */
  enhanced?: EnhancedStatus;
}

/**
 * An RFC 3463 enhanced status code, `class.subject.detail`.
 *
 * @example
 * ```ts
 * const status: EnhancedStatus = { class: 5, subject: 7, detail: 8 }; // 5.7.8 authentication credentials invalid
 * ```
 */
export interface EnhancedStatus {
  /** 2 success, 4 persistent transient failure, 5 permanent failure. */
  class: number;
  /** What the status is about: 1 addressing, 2 mailbox, 3 mail system, 4 network, 5 protocol, 6 content, 7 security. */
  subject: number;
  /** The detail within the subject, e.g. 8 in 5.7.8. */
  detail: number;
}

/** The first digit of a reply code, as RFC 5321 section 4.2.1 names them. */
export const enum ReplyClass {
  PositivePreliminary = 1,
  PositiveCompletion = 2,
  PositiveIntermediate = 3,
  TransientNegative = 4,
  PermanentNegative = 5,
}

/**
 * The class (first digit) of a reply code.
 *
 * @example
 * ```ts
 * replyClass({ code: 354, lines: [] }); // 3
 * ```
 */
export function replyClass(reply: SmtpReply): number {
  return Math.floor(reply.code / 100);
}

/**
 * The reply as it stood on the wire, one string per line, CRLF excluded.
 *
 * @example
 * ```ts
 * formatReply({ code: 250, lines: ['a', 'b'] }); // ['250-a', '250 b']
 * ```
 */
export function formatReply(reply: SmtpReply): string[] {
  if (reply.lines.length === 0) return [String(reply.code)];
  return reply.lines.map((line, i) => `${reply.code}${i === reply.lines.length - 1 ? ' ' : '-'}${line}`);
}

const DOT = 0x2e;
const SP = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * A reply of `code` with `lines`, its enhanced status code read from the first line.
 *
 * @example
 * ```ts
 * makeReply(550, ['5.1.1 no such user']); // { code: 550, lines: [...], enhanced: { class: 5, subject: 1, detail: 1 } }
 * ```
 */
export function makeReply(code: number, lines: string[]): SmtpReply {
  const enhanced = readEnhancedStatus(lines[0]!, Math.floor(code / 100));
  return enhanced === undefined ? { code, lines } : { code, lines, enhanced };
}

/**
 * The RFC 3463 `class.subject.detail` at the start of `text`, followed by a space or the end.
 * RFC 2034 requires the class to repeat the reply code's first digit; a mismatch is ordinary text.
 */
function readEnhancedStatus(text: string, replyClass: number): EnhancedStatus | undefined {
  const cls = text.charCodeAt(0) - DIGIT_0;
  if (cls !== replyClass || (cls !== 2 && cls !== 4 && cls !== 5) || text.charCodeAt(1) !== DOT) return undefined;
  const subjectEnd = digitsEnd(text, 2);
  if (subjectEnd === -1 || text.charCodeAt(subjectEnd) !== DOT) return undefined;
  const detailEnd = digitsEnd(text, subjectEnd + 1);
  if (detailEnd === -1 || (detailEnd < text.length && text.charCodeAt(detailEnd) !== SP)) return undefined;
  return {
    class: cls,
    subject: Number(text.slice(2, subjectEnd)),
    detail: Number(text.slice(subjectEnd + 1, detailEnd)),
  };
}

/** Where a run of 1 to 3 digits starting at `from` ends, or -1 when there is no such run. */
function digitsEnd(text: string, from: number): number {
  let at = from;
  while (at < text.length && text.charCodeAt(at) >= DIGIT_0 && text.charCodeAt(at) <= DIGIT_9) at++;
  return at === from || at - from > 3 ? -1 : at;
}
