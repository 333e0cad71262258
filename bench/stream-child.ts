/**
 * One streamed message of `megabytes` MB through a fresh process, so that its peak RSS growth is
 * its own: `rx` streams it through `session.send()` (of the build named by `BENCH_RX_BUILD`, this
 * tree's by default), `raw` writes the same chunks to a plain socket after a pipelined envelope
 * (the ceiling: no encoding, no checks). Prints
 * `{"mbPerSecond":…,"peakRssGrowth":…}` (bytes).
 *
 * @example
 * ```sh
 * node --import tsx bench/stream-child.ts rx 12345 100
 * ```
 */
import * as net from 'node:net';
import { lastValueFrom } from 'rxjs';
import { FROM, HOST, TO, rxConnect, rxQuit } from './peers';
import { onFinalLines } from './raw-lines';
import { loadRx } from './rx';

/** Size of each chunk the source yields: what a file stream reads at a time. */
const CHUNK_BYTES = 64 * 1024;
/** RSS is sampled this often while the message streams; a peak shorter than this can be missed. */
const RSS_SAMPLE_MS = 5;
const LINE = `${'x'.repeat(76)}\r\n`;
/**
 * Whole lines filling exactly 39 chunks (78 × 65,536 / 2 bytes: a multiple of both), so that every
 * chunk is a view into it that costs nothing, and the block repeats without cutting a line.
 */
const BLOCK = Buffer.from(LINE.repeat((CHUNK_BYTES * 39) / LINE.length));

async function* chunks(total: number): AsyncIterable<Uint8Array> {
  let offset = 0;
  for (let left = total; left > 0; left -= CHUNK_BYTES) {
    if (offset === BLOCK.length) offset = 0;
    yield BLOCK.subarray(offset, offset + Math.min(CHUNK_BYTES, left));
    offset += CHUNK_BYTES;
  }
}

async function rx(port: number, bytes: number): Promise<number> {
  const session = await rxConnect(loadRx(), port);
  const start = performance.now();
  await lastValueFrom(session.send({ from: FROM, to: TO, body: chunks(bytes) }));
  const elapsed = performance.now() - start;
  await rxQuit(session);
  return elapsed;
}

/** The same bytes, envelope pipelined, content after 354, written with backpressure. */
function raw(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: HOST, noDelay: true });
    let stage = 0;
    let start = 0;
    socket.on('error', reject);
    const writeBody = async (): Promise<void> => {
      for await (const piece of chunks(bytes)) {
        if (!socket.write(piece)) await new Promise((drained) => socket.once('drain', drained));
      }
      socket.write('.\r\n');
    };
    onFinalLines(socket, (line) => {
      stage++;
      if (stage === 1) socket.write('EHLO bench.example.test\r\n');
      else if (stage === 2) {
        start = performance.now();
        socket.write(`MAIL FROM:<${FROM}>\r\nRCPT TO:<${TO}>\r\nDATA\r\n`);
      } else if (line.startsWith('354')) {
        writeBody().catch(reject);
      } else if (stage === 6) {
        const elapsed = performance.now() - start;
        socket.end('QUIT\r\n');
        resolve(elapsed);
      }
    });
  });
}

async function main(): Promise<void> {
  const [mode, port, megabytes] = process.argv.slice(2);
  // Whole lines, so that the raw client's "." is a line of its own.
  const bytes = Math.floor((Number(megabytes) * 1_000_000) / LINE.length) * LINE.length;
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), RSS_SAMPLE_MS);
  const elapsed = await (mode === 'rx' ? rx : raw)(Number(port), bytes);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  process.stdout.write(`${JSON.stringify({ mbPerSecond: bytes / 1_000_000 / (elapsed / 1000), peakRssGrowth: peak - baseline })}\n`);
}

void main();
