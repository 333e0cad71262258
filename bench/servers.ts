import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { SinkCounts } from './sinks/mini-sink';

/**
 * A server the figures run against, and how to stop it.
 *
 * @example
 * ```ts
 * const sink: BenchServer = await startSmtpSink(console.error);
 * ```
 */
export interface BenchServer {
  port: number;
  /** What it is, for the output: `smtp-sink` or the fallback `mini-sink (child process)`. */
  kind: string;
  stop(): Promise<void>;
}

/** Where Debian's postfix package puts smtp-sink. */
const SMTP_SINK_PATH = '/usr/sbin/smtp-sink';
/** smtp-sink's `-m`: concurrent sessions; 1,000 idle sessions plus headroom. */
const SMTP_SINK_MAX_SESSIONS = 5000;
/** smtp-sink's listen backlog: connects one after another never queue more, 1,000 at once may. */
const SMTP_SINK_BACKLOG = 5000;
/** How long a freshly started server gets to accept its first connection. */
const START_TIMEOUT_MS = 10_000;
/** Pause between attempts to reach a server that is still starting. */
const START_POLL_MS = 50;

/**
 * A port nothing listens on now (listen on 0, read it, close).
 *
 * @example
 * ```ts
 * spawn('smtp-sink', [`127.0.0.1:${await freePort()}`, '5000']);
 * ```
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Postfix's smtp-sink, installed with apt when it is missing and we are root (the same two lines
 * as `.ci/run`); otherwise the mini sink in a child process, and `kind` says so.
 *
 * @example
 * ```ts
 * const sink = await startSmtpSink(console.error);
 * await sink.stop();
 * ```
 */
export async function startSmtpSink(log: (line: string) => void): Promise<BenchServer> {
  if (!existsSync(SMTP_SINK_PATH) && process.getuid?.() === 0) {
    log('smtp-sink is missing: installing the postfix package with apt-get');
    try {
      execFileSync('sh', ['-c', 'echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections'], { stdio: 'inherit' });
      execFileSync('sh', ['-c', 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postfix'], { stdio: 'inherit' });
    } catch (err) {
      log(`installing postfix failed: ${(err as Error).message}`);
    }
  }
  if (!existsSync(SMTP_SINK_PATH)) {
    log('smtp-sink is not available (not installed, not root): falling back to the mini sink in a child process');
    return startChildSink(['--pipelining'], 'mini-sink (child process; smtp-sink unavailable)');
  }
  const port = await freePort();
  const privileges = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  const args = [...privileges, '-m', String(SMTP_SINK_MAX_SESSIONS), `127.0.0.1:${port}`, String(SMTP_SINK_BACKLOG)];
  const child = spawn(SMTP_SINK_PATH, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitListening(port, child);
  return { port, kind: 'smtp-sink', stop: () => stopChild(child) };
}

/**
 * A mini sink in a child process, which can be asked what it counted.
 *
 * @example
 * ```ts
 * const { resumed } = await sink.counts();
 * ```
 */
export interface ChildSink extends BenchServer {
  counts(): Promise<SinkCounts>;
}

/**
 * The mini sink (`bench/sinks/child.ts`) in its own process, with these flags.
 *
 * @example
 * ```ts
 * const auth = await startChildSink(['--pipelining', '--auth']);
 * ```
 */
export async function startChildSink(flags: string[], kind = 'mini-sink (child process)'): Promise<ChildSink> {
  const { port, stop, ask } = await startChildServer(path.join('sinks', 'child.ts'), flags);
  return { port, kind, stop, counts: async () => JSON.parse(await ask('counts')) as SinkCounts };
}

/**
 * The delaying proxy (`bench/latency/proxy-child.ts`) in its own process, in front of a server on
 * 127.0.0.1: every chunk each way `rttMs / 2` late.
 *
 * @example
 * ```ts
 * const far = await startChildProxy(sink, 10); // connect to far.port
 * ```
 */
export async function startChildProxy(target: BenchServer, rttMs: number): Promise<BenchServer> {
  const { port, stop } = await startChildServer(path.join('latency', 'proxy-child.ts'), ['--target', String(target.port), '--rtt', String(rttMs)]);
  return { port, kind: `${target.kind} behind a ${rttMs} ms RTT proxy`, stop };
}

/**
 * A script of `bench/` that serves in its own process: it prints `{"port":N}` once listening,
 * answers each question line on stdin with one line, and exits when stdin closes.
 */
async function startChildServer(script: string, args: string[]): Promise<{ port: number; stop(): Promise<void>; ask(question: string): Promise<string> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, script), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: ((line: string) => void)[] = [];
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (let lf = out.indexOf('\n'); lf !== -1; lf = out.indexOf('\n')) {
      waiting.shift()?.(out.slice(0, lf));
      out = out.slice(lf + 1);
    }
  });
  const listening = new Promise<string>((resolve, reject) => {
    waiting.push(resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening`)));
  });
  const port = (JSON.parse(await listening) as { port: number }).port;
  const ask = (question: string): Promise<string> =>
    new Promise((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`${script} has exited: nobody to ask ${question}`));
      waiting.push(resolve);
      child.stdin!.write(`${question}\n`);
    });
  return { port, stop: () => stopChild(child), ask };
}

/** A figure's child process that runs longer than this is stuck: it is killed and the run fails. */
const CHILD_TIMEOUT_MS = 300_000;

/**
 * Runs a script of `bench/` in a fresh Node process (with `env` added to this one's) and returns
 * the JSON it prints last.
 *
 * @example
 * ```ts
 * const run = await runChild<{ mbPerSecond: number }>('stream-child.ts', ['rx', String(port), '100']);
 * ```
 */
export function runChild<T>(script: string, args: string[], nodeFlags: string[] = [], env: Record<string, string> = {}): Promise<T> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(__dirname, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const stuck = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      clearTimeout(stuck);
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0) resolve(JSON.parse(last) as T);
      else reject(new Error(`${script} exited with ${code}: ${out}`));
    });
  });
}

async function waitListening(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`smtp-sink exited with ${child.exitCode}`);
    const up = await new Promise<boolean>((resolve) => {
      const probe = net.connect({ port, host: '127.0.0.1' }, () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`smtp-sink did not listen on ${port} within ${START_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, START_POLL_MS));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
