const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const NUL = 0x00;
const CRLF = Buffer.from('\r\n');
const EXTRA_DOT = Buffer.from('.');
const ZEROS = Buffer.alloc(16_384);

/**
 * Turns message content into what SMTP may carry, streaming and in constant memory: every line
 * ending (CRLF, bare LF, bare CR) becomes CRLF, a line that starts with "." gets another "." when
 * `stuffDots` is set (DATA, RFC 5321 4.5.2; BDAT needs none), and content that does not end in a
 * line ending gets a CRLF at the end (an empty body stays empty). Because every line ending is
 * made CRLF and every leading dot is doubled, no input can produce an end of data
 * (`CRLF.CRLF`) before the real one, whatever its bytes and however it is split (SMTP smuggling).
 *
 * Well-formed input passes through without copying: a chunk is only cut where it must change.
 *
 * @example
 * ```ts
 * const encoder = new BodyEncoder(true);
 * Buffer.concat([...encoder.push(Buffer.from('a\n.b')), ...encoder.end()]).toString(); // 'a\r\n..b\r\n'
 * ```
 */
export class BodyEncoder {
  /** Octets of normalised content so far (line endings as CRLF, before dot-stuffing). */
  contentBytes = 0;
  private atLineStart = true;
  /** The previous chunk ended in CR: its line ending is owed, and an LF that follows belongs to it. */
  private pendingCr = false;
  /**
   * NULs that start the current line, not yet written: a receiver that drops NUL reads "\0." as
   * "." (SMTP smuggling's NUL variants), so a line whose first byte other than NUL is "." gets its
   * extra dot before the NULs, and that is only known once that byte comes. Counted, not stored.
   */
  private heldNuls = 0;

  constructor(private readonly stuffDots: boolean) {}

  /** Encodes one chunk; returns the pieces to write, in order (views of the input where possible). */
  push(chunk: Uint8Array): Buffer[] {
    const input = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: Buffer[] = [];
    const n = input.length;
    let i = 0;
    if (this.pendingCr && n > 0) {
      this.pendingCr = false;
      this.emit(out, CRLF, true);
      if (input[0] === LF) i = 1;
      this.atLineStart = true;
    }
    if (this.heldNuls > 0 && n > 0) {
      while (i < n && input[i] === NUL) i++;
      if (i === n) {
        this.heldNuls += n;
        return out;
      }
      this.releaseNuls(out, input[i] === DOT);
      i = 0;
    }
    let start = i;
    let nextCr = input.indexOf(CR, i);
    let nextLf = input.indexOf(LF, i);
    while (i < n) {
      if (this.atLineStart) {
        let first = i;
        if (this.stuffDots) while (first < n && input[first] === NUL) first++;
        if (first === n) {
          this.emit(out, input.subarray(start, i), true);
          this.heldNuls = n - i;
          start = i = n;
          break;
        }
        this.atLineStart = false;
        if (this.stuffDots && input[first] === DOT) {
          this.emit(out, input.subarray(start, i), true);
          this.emit(out, EXTRA_DOT, false);
          start = i;
        }
      }
      if (nextCr !== -1 && nextCr < i) nextCr = input.indexOf(CR, i);
      if (nextLf !== -1 && nextLf < i) nextLf = input.indexOf(LF, i);
      const end = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf);
      if (end === -1) break;
      if (input[end] === CR) {
        if (end + 1 === n) {
          // Whether this CR starts a CRLF is only known with the next chunk.
          this.emit(out, input.subarray(start, end), true);
          this.pendingCr = true;
          start = i = n;
          break;
        }
        if (input[end + 1] === LF) {
          i = end + 2; // a proper CRLF: keep it inside the current piece
        } else {
          this.emit(out, input.subarray(start, end), true); // bare CR
          this.emit(out, CRLF, true);
          start = i = end + 1;
        }
      } else {
        this.emit(out, input.subarray(start, end), true); // bare LF
        this.emit(out, CRLF, true);
        start = i = end + 1;
      }
      this.atLineStart = true;
    }
    // The loop left atLineStart true only if the chunk ended exactly after a line ending.
    if (start < n) this.emit(out, input.subarray(start, n), true);
    return out;
  }

  /** Ends the content: the owed or missing final CRLF, if any. */
  end(): Buffer[] {
    const out: Buffer[] = [];
    if (this.heldNuls > 0) this.releaseNuls(out, false);
    if (this.pendingCr || !this.atLineStart) this.emit(out, CRLF, true);
    this.pendingCr = false;
    this.atLineStart = true;
    return out;
  }

  /** Writes the held NULs, after the extra dot when the line goes on with a "."; the line has begun. */
  private releaseNuls(out: Buffer[], dot: boolean): void {
    if (dot) this.emit(out, EXTRA_DOT, false);
    for (let left = this.heldNuls; left > 0; left -= ZEROS.length) this.emit(out, ZEROS.subarray(0, Math.min(left, ZEROS.length)), true);
    this.heldNuls = 0;
    this.atLineStart = false;
  }

  private emit(out: Buffer[], piece: Buffer, content: boolean): void {
    if (piece.length === 0) return;
    out.push(piece);
    if (content) this.contentBytes += piece.length;
  }
}

/**
 * Encodes a whole in-memory body at once.
 *
 * @example
 * ```ts
 * encodeBody(Buffer.from('.\n'), true).data.toString(); // '..\r\n'
 * ```
 */
export function encodeBody(body: Uint8Array, stuffDots: boolean): { data: Buffer; contentBytes: number } {
  const encoder = new BodyEncoder(stuffDots);
  const pieces = [...encoder.push(body), ...encoder.end()];
  const data = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  return { data, contentBytes: encoder.contentBytes };
}
