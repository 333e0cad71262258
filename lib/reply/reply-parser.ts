import { SmtpError } from '../errors';
import { type SmtpReply, makeReply } from './reply';
import { type ReplyLimits, resolveReplyLimits } from './limits';
import { sanitize } from './sanitize';

export { DEFAULT_MAX_LINE_LENGTH, DEFAULT_MAX_LINES, DEFAULT_MAX_REPLY_BYTES, type ReplyLimits, resolveReplyLimits } from './limits';

// Most of a bad line that goes into an error message: enough to recognise it, too little to flood a log.
const EXCERPT_LENGTH = 80;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HYPHEN = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_2 = 0x32;
const DIGIT_5 = 0x35;
const DIGIT_9 = 0x39;
const CODE_LENGTH = 3;

/**
 * Turns the bytes a server sends into {@link SmtpReply} objects (RFC 5321 4.2), fed chunks of any size.
 *
 * The parser is between replies (`idle`), inside a multi-line reply (continuation lines held), or
 * dead after an error. Independently it may hold the start of a line whose LF has not come.
 * Only that partial tail is copied; the whole lines of a chunk are decoded in place, all at once.
 *
 * @example
 * ```ts
 * const parser = new ReplyParser();
 * parser.push(Buffer.from('250-mail.example.com\r\n250 SIZE')); // []
 * parser.push(Buffer.from(' 35882577\r\n'));
 * // [{ code: 250, lines: ['mail.example.com', 'SIZE 35882577'] }]
 * ```
 */
export class ReplyParser {
  private readonly limits: ReplyLimits;
  /** Pieces of the line whose LF has not arrived yet, copied out of their chunks. */
  private tail: Buffer[] = [];
  private tailLength = 0;
  /** Code and texts of the lines of the current multi-line reply received so far. */
  private code = 0;
  private lines: string[] = [];
  private replyBytes = 0;
  /** What the parser died of; thrown again by every later call. */
  private failure: unknown;
  private dead = false;
  private feeding = false;

  /**
   * @param limits bounds to enforce; each defaults to its `DEFAULT_MAX_*` constant.
   * @throws SmtpError `EINVAL` when a limit is not a positive integer.
   */
  constructor(limits?: Partial<ReplyLimits>) {
    this.limits = resolveReplyLimits(limits);
  }

  /**
   * Octets held for the incomplete reply: the partial line plus the completed lines before it.
   * Non-zero after a reply was completed means the server sent more than that reply.
   *
   * @example
   * ```ts
   * parser.push(Buffer.from('220 ready\r\n250 injected')); // one reply
   * parser.buffered; // 12
   * ```
   */
  get buffered(): number {
    return this.replyBytes + this.tailLength;
  }

  /**
   * True when nothing of an incomplete reply is held: the bytes so far ended exactly with a reply.
   *
   * @example
   * ```ts
   * parser.push(Buffer.from('220 go ahead\r\n'));
   * if (!parser.idle) throw new Error('bytes after the STARTTLS reply');
   * ```
   */
  get idle(): boolean {
    return this.tailLength === 0 && this.lines.length === 0;
  }

  /**
   * Parses a chunk and returns the replies it completed, in order. A reply completed before a
   * protocol error in the same chunk is lost with the error; {@link ReplyParser.feed} delivers it.
   *
   * @throws SmtpError `ESERVERSYNC` on a malformed or oversized reply; the parser is dead afterwards
   * and throws the same error on every later call.
   * @example
   * ```ts
   * new ReplyParser().push(Buffer.from('250 2.1.0 Ok\r\n'));
   * // [{ code: 250, lines: ['2.1.0 Ok'], enhanced: { class: 2, subject: 1, detail: 0 } }]
   * ```
   */
  push(chunk: Uint8Array): SmtpReply[] {
    const replies: SmtpReply[] = [];
    this.feed(chunk, (reply) => replies.push(reply));
    return replies;
  }

  /**
   * Parses a chunk and hands each reply to `onReply` as soon as it is complete, so that replies
   * before a protocol error in the same chunk are delivered before the error is thrown (a `250`
   * accepting a message must not be lost to garbage after it). `onReply` must not feed this parser.
   *
   * @throws SmtpError `ESERVERSYNC` as {@link ReplyParser.push}; `EINVAL` if called from `onReply`.
   * Whatever `onReply` throws is thrown too and, as the rest of the chunk is then lost, kills the parser.
   * @example
   * ```ts
   * parser.feed(chunk, (reply) => subscriber.next(reply));
   * ```
   */
  feed(chunk: Uint8Array, onReply: (reply: SmtpReply) => void): void {
    if (this.dead) throw this.failure;
    if (this.feeding) throw new SmtpError('EINVAL', 'ReplyParser.feed called again from its own onReply');
    this.feeding = true;
    try {
      this.scan(asBuffer(chunk), onReply);
    } catch (err) {
      this.die(err);
      throw err;
    } finally {
      this.feeding = false;
    }
  }

  private scan(buf: Buffer, onReply: (reply: SmtpReply) => void): void {
    // Nothing to do; and hold() would judge a held line's last byte by this chunk's (it has none).
    if (buf.length === 0) return;
    let from = 0;
    if (this.tailLength > 0) {
      const lf = buf.indexOf(LF);
      if (lf === -1) {
        this.hold(buf, 0);
        return;
      }
      // Checked before joining so that an overlong line is never copied whole.
      const length = this.tailLength + lf;
      if (length > this.limits.maxLineLength + 1) throw this.lineTooLong();
      const whole = Buffer.concat([...this.tail, buf.subarray(0, lf)], length);
      this.tail = [];
      this.tailLength = 0;
      const text = whole.toString('utf8');
      this.line(text, 0, text.length, length, onReply);
      from = lf + 1;
    }
    const last = buf.lastIndexOf(LF);
    if (last >= from) {
      // One decode for all the whole lines is several times faster than one per line, and gives the
      // same strings: an LF byte is never part of a UTF-8 sequence, so it ends any broken one before it.
      const text = buf.toString('utf8', from, last);
      if (text.length === last - from) this.oneToOne(text, onReply);
      else this.byBytes(buf, from, last, text, onReply);
      from = last + 1;
    }
    if (from < buf.length) this.hold(buf, from);
  }

  /** Keeps `buf[from..]`, a line without its LF, failing as soon as it cannot fit the limits. */
  private hold(buf: Buffer, from: number): void {
    const length = this.tailLength + buf.length - from;
    const { maxLineLength, maxReplyBytes } = this.limits;
    // One octet over may still be the CR of a CRLF; more cannot be.
    if (length > maxLineLength + 1 || (length === maxLineLength + 1 && buf[buf.length - 1] !== CR)) {
      throw this.lineTooLong();
    }
    // The line still needs at least its LF.
    if (this.replyBytes + length + 1 > maxReplyBytes) throw this.replyTooLong();
    // Copied: the caller may reuse its chunk, and a subarray would pin all of it.
    this.tail.push(Buffer.from(buf.subarray(from)));
    this.tailLength = length;
  }

  /**
   * Whole lines whose text has one character per octet: a UTF-8 decode never gives more characters
   * than octets, so as many means every octet became one character (ASCII, or a lone invalid octet
   * as U+FFFD). Offsets in the text are then offsets in the bytes, and the lines are found in the
   * text, without going back to the buffer for each one.
   */
  private oneToOne(text: string, onReply: (reply: SmtpReply) => void): void {
    const { maxLineLength, maxLines, maxReplyBytes } = this.limits;
    // The reply in progress is kept in locals while the usual lines go by, and written back before
    // anything else (line(), onReply) can look at it.
    let lines = this.lines;
    let code = this.code;
    let replyBytes = this.replyBytes;
    const length = text.length;
    let start = 0;
    for (;;) {
      let lf = text.indexOf('\n', start);
      if (lf === -1) lf = length;
      const octets = lf - start;
      // The usual line, handled here without a call: a code, a separator, some text, CRLF, within
      // the limits, in a reply that has room for it. Anything else goes to line(), which finds the fault.
      const d0 = text.charCodeAt(start);
      const d1 = text.charCodeAt(start + 1);
      const d2 = text.charCodeAt(start + 2);
      const separator = text.charCodeAt(start + CODE_LENGTH);
      const lineCode = (d0 - DIGIT_0) * 100 + (d1 - DIGIT_0) * 10 + (d2 - DIGIT_0);
      if (
        octets > CODE_LENGTH + 1 &&
        octets <= maxLineLength + 1 &&
        text.charCodeAt(lf - 1) === CR &&
        d0 >= DIGIT_2 &&
        d0 <= DIGIT_5 &&
        d1 >= DIGIT_0 &&
        d1 <= DIGIT_9 &&
        d2 >= DIGIT_0 &&
        d2 <= DIGIT_9 &&
        (separator === HYPHEN ? lines.length + 1 < maxLines : separator === SP) &&
        (lines.length === 0 || lineCode === code) &&
        replyBytes + octets + 1 <= maxReplyBytes
      ) {
        replyBytes += octets + 1;
        code = lineCode;
        lines.push(text.slice(start + CODE_LENGTH + 1, lf - 1));
        if (separator !== HYPHEN) {
          this.lines = [];
          this.replyBytes = 0;
          onReply(makeReply(code, lines));
          lines = this.lines;
          replyBytes = 0;
        }
      } else {
        this.lines = lines;
        this.code = code;
        this.replyBytes = replyBytes;
        this.line(text, start, lf, octets, onReply);
        lines = this.lines;
        code = this.code;
        replyBytes = this.replyBytes;
      }
      if (lf === length) break;
      start = lf + 1;
    }
    this.lines = lines;
    this.code = code;
    this.replyBytes = replyBytes;
  }

  /** Whole lines `buf[from..last)` with multi-octet characters: each line's octets counted in the buffer. */
  private byBytes(buf: Buffer, from: number, last: number, text: string, onReply: (reply: SmtpReply) => void): void {
    const texts = text.split('\n');
    for (let i = 0; from <= last; i++) {
      const lf = buf.indexOf(LF, from);
      this.line(texts[i]!, 0, texts[i]!.length, lf - from, onReply);
      from = lf + 1;
    }
  }

  /**
   * Handles the line `text[start..lf)` (its LF excluded), of `octets` octets on the wire. The code,
   * separator and CR are ASCII, so they are the same characters whether read in text or in bytes.
   */
  private line(text: string, start: number, lf: number, octets: number, onReply: (reply: SmtpReply) => void): void {
    const hasCR = lf > start && text.charCodeAt(lf - 1) === CR;
    const end = hasCR ? lf - 1 : lf;
    if (octets - (hasCR ? 1 : 0) > this.limits.maxLineLength) throw this.lineTooLong();
    const code = readCode(text, start, end);
    if (code === -1) throw malformed(text.slice(start, lf));
    const continues = end - start > CODE_LENGTH && text.charCodeAt(start + CODE_LENGTH) === HYPHEN;
    if (this.lines.length > 0 && code !== this.code) {
      throw new SmtpError('ESERVERSYNC', `Reply line with code ${code} inside a ${this.code} reply: "${excerpt(text.slice(start, lf))}"`);
    }
    this.replyBytes += octets + 1;
    if (this.replyBytes > this.limits.maxReplyBytes) throw this.replyTooLong();
    this.code = code;
    // The code and separator are ASCII: the text starts CODE_LENGTH + 1 characters into the line.
    this.lines.push(text.slice(start + CODE_LENGTH + 1, end));
    if (continues) {
      // This line is number maxLines and not the last: the reply is certain to have too many.
      if (this.lines.length >= this.limits.maxLines) {
        throw new SmtpError('ESERVERSYNC', `Reply has more than ${this.limits.maxLines} lines`);
      }
      return;
    }
    const reply = makeReply(code, this.lines);
    this.lines = [];
    this.replyBytes = 0;
    onReply(reply);
  }

  private lineTooLong(): SmtpError {
    return new SmtpError('ESERVERSYNC', `Reply line longer than ${this.limits.maxLineLength} octets`);
  }

  private replyTooLong(): SmtpError {
    return new SmtpError('ESERVERSYNC', `Reply longer than ${this.limits.maxReplyBytes} octets`);
  }

  private die(err: unknown): void {
    this.dead = true;
    this.failure = err;
    this.tail = [];
    this.tailLength = 0;
    this.lines = [];
    this.replyBytes = 0;
  }
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** The reply code at `text[start..end)` (first digit 2 to 5, then a space, `-` or the end), or -1. */
function readCode(text: string, start: number, end: number): number {
  if (end - start < CODE_LENGTH) return -1;
  const d0 = text.charCodeAt(start);
  const d1 = text.charCodeAt(start + 1);
  const d2 = text.charCodeAt(start + 2);
  if (d0 < DIGIT_2 || d0 > DIGIT_5 || !isDigit(d1) || !isDigit(d2)) return -1;
  if (end - start > CODE_LENGTH) {
    const separator = text.charCodeAt(start + CODE_LENGTH);
    if (separator !== SP && separator !== HYPHEN) return -1;
  }
  return (d0 - DIGIT_0) * 100 + (d1 - DIGIT_0) * 10 + (d2 - DIGIT_0);
}

function isDigit(byte: number): boolean {
  return byte >= DIGIT_0 && byte <= DIGIT_9;
}

function malformed(decoded: string): SmtpError {
  return new SmtpError(
    'ESERVERSYNC',
    `Malformed reply line (expected a code 200-599 then a space, "-" or the end): "${excerpt(decoded)}"`,
  );
}

/** The start of a line for an error message, its CR dropped and its control characters disarmed. */
function excerpt(decoded: string): string {
  return sanitize(decoded.endsWith('\r') ? decoded.slice(0, -1) : decoded, EXCERPT_LENGTH);
}
