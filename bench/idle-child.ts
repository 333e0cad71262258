/**
 * `count` idle connected sessions of one client in a fresh process started with `--expose-gc`:
 * the heap they hold, per session, after full collections. `rx` loads the build named by
 * `BENCH_RX_BUILD` (this tree's by default). Prints
 * `{"heapPerSession":…,"connected":…,"failed":…}` (bytes).
 *
 * @example
 * ```sh
 * node --expose-gc --import tsx bench/idle-child.ts rx 12345 1000
 * ```
 */
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SmtpSession } from '../lib/index';
import { nmConnect, nmQuit, rxConnect, rxQuit } from './peers';
import { loadRx } from './rx';

/** Sessions opened at once: the server's listen backlog takes this many comfortably. */
const CONNECT_WAVE = 100;

interface Client<T> {
  open(port: number): Promise<T>;
  close(session: T): Promise<void>;
}

const clients: { rx: Client<SmtpSession>; nodemailer: Client<SMTPConnection> } = {
  rx: { open: (port) => rxConnect(loadRx(), port), close: (session) => rxQuit(session) },
  nodemailer: { open: (port) => nmConnect(port), close: nmQuit },
};

function collect(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function measure<T>(client: Client<T>, port: number, count: number): Promise<void> {
  // One session first, so that code loaded and compiled on first use is not counted as per-session heap.
  await client.close(await client.open(port));
  const before = collect();
  const open: T[] = [];
  let failed = 0;
  for (let started = 0; started < count; started += CONNECT_WAVE) {
    const wave = Array.from({ length: Math.min(CONNECT_WAVE, count - started) }, () => client.open(port));
    for (const result of await Promise.allSettled(wave)) {
      if (result.status === 'fulfilled') open.push(result.value);
      else failed++;
    }
  }
  const after = collect();
  process.stdout.write(`${JSON.stringify({ heapPerSession: (after - before) / Math.max(open.length, 1), connected: open.length, failed })}\n`);
  await Promise.all(open.map((session) => client.close(session)));
}

const [which, port, count] = process.argv.slice(2);
const run = which === 'rx' ? measure(clients.rx, Number(port), Number(count)) : measure(clients.nodemailer, Number(port), Number(count));
run.then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
