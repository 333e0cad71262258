import { from } from 'rxjs';
import { alternate, mapSides } from '../rounds';
import type { Builds, Rx } from '../rx';

/**
 * MB/s of each, one figure per round, alternating.
 *
 * @example
 * ```ts
 * pairedRatio(runs.rx, runs.indexOf);
 * ```
 */
export interface ParserRuns {
  /** `parseReplies()` of this build (and of the baseline's). */
  rx: number[];
  baseline?: number[];
  indexOf: number[];
}

/** What a socket read hands over at a time. */
const CHUNK_BYTES = 64 * 1024;

/** A large server's EHLO reply: 12 lines, 226 bytes. */
const EHLO_REPLY = [
  '250-mail.example.com Hello client.example.org [192.0.2.1]',
  '250-SIZE 52428800',
  '250-8BITMIME',
  '250-PIPELINING',
  '250-CHUNKING',
  '250-SMTPUTF8',
  '250-DSN',
  '250-ENHANCEDSTATUSCODES',
  '250-AUTH PLAIN LOGIN SCRAM-SHA-256',
  '250-STARTTLS',
  '250-ETRN',
  '250 HELP',
].join('\r\n');

/** A stream of whole EHLO replies cut into chunks that split lines and replies anywhere. */
function stream(megabytes: number): { chunks: Buffer[]; replies: number; bytes: number } {
  const one = `${EHLO_REPLY}\r\n`;
  const replies = Math.ceil((megabytes * 1_000_000) / one.length);
  const all = Buffer.from(one.repeat(replies));
  const chunks: Buffer[] = [];
  for (let at = 0; at < all.length; at += CHUNK_BYTES) chunks.push(all.subarray(at, at + CHUNK_BYTES));
  return { chunks, replies, bytes: all.length };
}

/**
 * `parseReplies()` over a stream of multi-line EHLO replies, against the least any parser must do
 * with the same bytes: find every LF with `Buffer.indexOf`.
 *
 * @example
 * ```ts
 * const runs = await parser(builds, 32, 5);
 * ```
 */
export async function parser(builds: Builds, megabytes: number, rounds: number): Promise<ParserRuns> {
  const input = stream(megabytes);
  const sides = {
    ...mapSides(builds, (rx) => async () => {
      const start = performance.now();
      const parsed = parse(rx, input.chunks);
      const rate = mbPerSecond(input.bytes, start);
      if (parsed !== input.replies) throw new Error(`parseReplies gave ${parsed} replies, expected ${input.replies}`);
      return rate;
    }),
    indexOf: async () => {
      const start = performance.now();
      const lines = scan(input.chunks);
      const rate = mbPerSecond(input.bytes, start);
      if (lines !== input.replies * 12) throw new Error(`the scan found ${lines} lines`);
      return rate;
    },
  };
  // Warm-up: every side compiled before the first measured round.
  await alternate(1, sides);
  return alternate(rounds, sides);
}

function parse(rx: Rx, chunks: Buffer[]): number {
  let replies = 0;
  from(chunks)
    .pipe(rx.parseReplies())
    .subscribe(() => replies++);
  return replies;
}

function scan(chunks: Buffer[]): number {
  let lines = 0;
  for (const chunk of chunks) {
    for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) lines++;
  }
  return lines;
}

function mbPerSecond(bytes: number, start: number): number {
  return bytes / 1_000_000 / ((performance.now() - start) / 1000);
}
