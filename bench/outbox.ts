import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { filter, firstValueFrom } from 'rxjs';
import { type RedisFixture, startRedis } from '../test/fixtures/redis';
import { median } from './report';
import { BUILD_DIR, buildRx, rxOrigin } from './rx';
import { startSmtpSink } from './servers';

/**
 * `npm run bench:outbox [-- --quick]`: the outbox's scaling curve, mails/s with 1, 2 and 4 worker
 * processes against Postfix's smtp-sink, each process one pool with the default options (5
 * connections, 10 jobs held). Each measurement: a fresh queue filled with MAILS 1 KB mails, the
 * workers started and connected, then told to go at once; the time from go until the outbox counts
 * every mail delivered. Rounds alternate 1, 2, 4 workers; the figure is the median. Redis runs with
 * `appendfsync always` (what the outbox's guarantees need against a Redis crash), or `everysec`
 * with `--everysec`.
 */

const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
/** `--everysec`: Redis fsyncs its append-only file once a second instead of at every write. */
const APPENDFSYNC = process.argv.includes('--everysec') ? 'everysec' : 'always';
const MAILS = QUICK ? 1_000 : 3_000;
const ROUNDS = QUICK ? 1 : 5;
const WORKERS = [1, 2, 4];
/** Adds in flight at once while filling the queue. */
const ADD_BATCH = 200;
const BODY = `Subject: outbox bench\r\n\r\n${'x'.repeat(76)}\r\n`.repeat(12);
const CHILD = path.join(__dirname, 'outbox-child.ts');

async function main(): Promise<void> {
  buildRx();
  const { createOutbox } = (process.env.BENCH_SOURCE === '1' ? require('../lib/outbox') : require(path.join(BUILD_DIR, 'outbox', 'index.js'))) as typeof import('../lib/outbox');
  const redis = await startRedis({ appendfsync: APPENDFSYNC });
  if (redis === null) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const sink = await startSmtpSink(console.error);
  const rates = new Map<number, Measurement[]>(WORKERS.map((k) => [k, []]));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const workers of WORKERS) {
        const m = await measure(createOutbox, redis, sink.port, workers, `bench-${round}-${workers}`);
        rates.get(workers)!.push(m);
        console.error(`round ${round}: ${workers} worker process(es): ${Math.round(m.rate)} mails/s, CPU ${m.workerCpuMs.toFixed(2)} ms (workers) + ${m.redisCpuMs.toFixed(2)} ms (Redis) a mail`);
      }
    }
  } finally {
    await sink.stop();
    await redis.stop();
  }
  report(rates, sink.kind);
}

async function measure(
  createOutbox: typeof import('../lib/outbox').createOutbox,
  redis: RedisFixture,
  sinkPort: number,
  workers: number,
  queue: string,
): Promise<Measurement> {
  const outbox = createOutbox({ connection: redis.connection, name: queue, countsIntervalMs: 20 });
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < MAILS; i += ADD_BATCH) {
      await Promise.all(Array.from({ length: Math.min(ADD_BATCH, MAILS - i) }, () => outbox.add({ from: 'bench@example.test', to: 'sink@example.test', body: BODY })));
    }
    for (let i = 0; i < workers; i++) children.push(await startChild({ redisPort: redis.port, queue, sinkPort }));
    const pids = children.map((child) => child.pid!);
    const before = { workers: cpuMs(pids), redis: cpuMs([redis.pid()]) };
    const started = performance.now();
    for (const child of children) child.stdin!.write('go\n');
    await firstValueFrom(outbox.counts$.pipe(filter((c) => c.delivered === MAILS)));
    const rate = MAILS / ((performance.now() - started) / 1000);
    return { rate, workerCpuMs: (cpuMs(pids) - before.workers) / MAILS, redisCpuMs: (cpuMs([redis.pid()]) - before.redis) / MAILS };
  } finally {
    await Promise.all(children.map(stop));
    await outbox.close();
  }
}

/** One measurement: the rate, and the CPU time a mail cost in the workers and in Redis. */
interface Measurement {
  rate: number;
  workerCpuMs: number;
  redisCpuMs: number;
}

/** Linux's clock ticks a second (`getconf CLK_TCK`), the unit of /proc/PID/stat's CPU times. */
const CLOCK_TICKS_PER_SECOND = 100;

/** User plus system CPU time of these processes so far, in ms (fields 14 and 15 of /proc/PID/stat). */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

function startChild(config: { redisPort: number; queue: string; sinkPort: number }): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`a worker exited with ${code} before it was ready`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function report(rates: Map<number, Measurement[]>, sink: string): void {
  const one = median(rates.get(1)!.map((m) => m.rate));
  const rows = WORKERS.map((k) => {
    const ms = rates.get(k)!;
    const rate = median(ms.map((m) => m.rate));
    const workerCpuMs = median(ms.map((m) => m.workerCpuMs));
    const redisCpuMs = median(ms.map((m) => m.redisCpuMs));
    return { workers: k, mailsPerSecond: Math.round(rate), vsOne: Number((rate / one).toFixed(2)), workerCpuMs, redisCpuMs, rounds: ms.map((m) => Math.round(m.rate)) };
  });
  const cores = os.cpus().length;
  const machine = { cores, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version, server: sink, rxSmtp: rxOrigin(), mails: MAILS, rounds: ROUNDS, appendfsync: APPENDFSYNC };
  console.log('| worker processes | mails/s | vs 1 | CPU a mail: workers + Redis | ceiling on these cores |');
  console.log('|---|---|---|---|---|');
  for (const row of rows) {
    const cpu = row.workerCpuMs + row.redisCpuMs;
    const ceiling = Math.round((cores * 1000) / cpu);
    console.log(`| ${row.workers} | ${row.mailsPerSecond.toLocaleString('en-US')} | ${row.vsOne.toFixed(2)}x | ${row.workerCpuMs.toFixed(2)} + ${row.redisCpuMs.toFixed(2)} ms | ${ceiling.toLocaleString('en-US')}/s |`);
  }
  console.log(JSON.stringify(machine));
  if (!QUICK) writeFileSync(path.join(__dirname, `outbox-results-${APPENDFSYNC}.json`), `${JSON.stringify({ machine, rows }, null, 2)}\n`);
}

void main();
