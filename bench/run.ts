/**
 * `npm run bench`: every figure of issue 6, side by side with its peer in one run, as a table,
 * `bench/results.json` and `bench/results.svg`. `--quick` (or `BENCH_QUICK=1`) runs smaller
 * batches; `--only=throughput,stream` runs some figures only. See bench/README.md.
 *
 * @example
 * ```sh
 * npm run bench -- --quick
 * ```
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parser } from './figures/parser';
import { roundTrips } from './figures/round-trips';
import { sessions } from './figures/sessions';
import { throughput } from './figures/throughput';
import { type Machine, type Row, chart, machine, median, pairedRatio, table } from './report';
import { buildRx, rxOrigin } from './rx';
import { type BenchServer, runChild, startChildSink, startSmtpSink } from './servers';

interface Sizes {
  messages: number;
  throughputRounds: number;
  turnsBatch: number;
  streamMegabytes: number;
  streamRounds: number;
  sessions: number;
  sessionRounds: number;
  idleSessions: number;
  parserMegabytes: number;
  parserRounds: number;
}

/** The sizes; a full run takes about a minute on two shared cores. */
const FULL: Sizes = {
  messages: 20_000,
  throughputRounds: 5,
  turnsBatch: 100,
  streamMegabytes: 100,
  streamRounds: 5,
  sessions: 500,
  sessionRounds: 5,
  idleSessions: 1000,
  parserMegabytes: 32,
  parserRounds: 7,
};

/** Small enough for a smoke test in about half a minute; the figures are noisier. */
const QUICK: Sizes = {
  messages: 3000,
  throughputRounds: 2,
  turnsBatch: 50,
  streamMegabytes: 20,
  streamRounds: 1,
  sessions: 100,
  sessionRounds: 2,
  idleSessions: 200,
  parserMegabytes: 8,
  parserRounds: 3,
};

const MIB = 1024 * 1024;
/** The bound on peak RSS growth while streaming 100 MB. */
const RSS_LIMIT = 16 * MIB;

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const wanted = (name: string): boolean => only === undefined || only.includes(name);
const sizes = quick ? QUICK : FULL;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const fmt = (value: number, digits = 0): string => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const where = machine();
  log(`rx-smtp bench${quick ? ' (quick)' : ''}: ${where.cpus} cores, ${where.model}, Node ${where.node}`);
  buildRx(log);
  log(`rx-smtp: ${rxOrigin()}; nodemailer ${nodemailerVersion()}`);
  const sink = await startSmtpSink(log);
  log(`server: ${sink.kind} on 127.0.0.1:${sink.port}`);
  const rows: Row[] = [];
  const runs: Record<string, unknown> = {};
  try {
    if (wanted('throughput')) rows.push(...(await throughputRows(sink, runs)));
    if (wanted('turns')) rows.push(...(await turnRows(runs)));
    if (wanted('stream')) rows.push(...(await streamRows(sink, runs)));
    if (wanted('sessions')) rows.push(...(await sessionRows(runs)));
    if (wanted('idle')) rows.push(...(await idleRows(sink, runs)));
    if (wanted('parser')) rows.push(...parserRows(runs));
  } finally {
    await sink.stop();
  }
  report(rows, runs, where, sink.kind);
}

async function throughputRows(sink: BenchServer, runs: Record<string, unknown>): Promise<Row[]> {
  log(`1 KB messages: ${sizes.throughputRounds} rounds of ${fmt(sizes.messages)}, alternating rx-smtp / nodemailer / one-turn raw client`);
  const r = await throughput(sink.port, sizes.messages, sizes.throughputRounds);
  runs.throughput = r;
  return [
    {
      figure: '1 KB msgs/s, one connection, sendAll vs nodemailer',
      rx: `${fmt(median(r.rx))}/s`,
      peer: `${fmt(median(r.nodemailer))}/s`,
      ratio: pairedRatio(r.rx, r.nodemailer),
      target: '>= 3x',
      targetRatio: 3,
      lowerIsBetter: false,
      met: pairedRatio(r.rx, r.nodemailer) >= 3,
    },
    {
      figure: '1 KB msgs/s, sendAll vs one-turn raw socket (protocol limit)',
      rx: `${fmt(median(r.rx))}/s`,
      peer: `${fmt(median(r.oneTurn))}/s`,
      ratio: pairedRatio(r.rx, r.oneTurn),
      target: '(context)',
      targetRatio: 1,
      lowerIsBetter: false,
      met: null,
    },
  ];
}

async function turnRows(runs: Record<string, unknown>): Promise<Row[]> {
  log(`round trips: batches of ${sizes.turnsBatch} and ${2 * sizes.turnsBatch} messages against the counting sink`);
  const t = await roundTrips(sizes.turnsBatch);
  runs.roundTrips = t;
  return [
    {
      figure: 'round trips/msg, PIPELINING',
      rx: fmt(t.rxPipelining, 2),
      peer: fmt(t.nodemailerPipelining, 2),
      ratio: t.rxPipelining / t.nodemailerPipelining,
      target: '1 (nodemailer 2)',
      targetRatio: 0.5,
      lowerIsBetter: true,
      met: t.rxPipelining <= 1,
    },
    {
      figure: 'round trips/msg, CHUNKING (vs 1 turn)',
      rx: fmt(t.rxChunking, 2),
      peer: 'n/a (no BDAT)',
      ratio: t.rxChunking,
      target: '< 1',
      targetRatio: 1,
      lowerIsBetter: true,
      met: t.rxChunking < 1,
    },
    {
      figure: 'round trips/msg, no PIPELINING (lock-step)',
      rx: fmt(t.rxLockStep, 2),
      peer: fmt(t.nodemailerLockStep, 2),
      ratio: t.rxLockStep / t.nodemailerLockStep,
      target: '(context)',
      targetRatio: 1,
      lowerIsBetter: true,
      met: null,
    },
  ];
}

interface StreamRun {
  mbPerSecond: number;
  peakRssGrowth: number;
}

async function streamRows(sink: BenchServer, runs: Record<string, unknown>): Promise<Row[]> {
  log(`${sizes.streamMegabytes} MB streamed: ${sizes.streamRounds} rounds, alternating send() / raw socket, each in a fresh process`);
  const rx: StreamRun[] = [];
  const raw: StreamRun[] = [];
  for (let round = 0; round < sizes.streamRounds; round++) {
    rx.push(await runChild<StreamRun>('stream-child.ts', ['rx', String(sink.port), String(sizes.streamMegabytes)]));
    raw.push(await runChild<StreamRun>('stream-child.ts', ['raw', String(sink.port), String(sizes.streamMegabytes)]));
  }
  runs.stream = { rx, raw };
  const ratio = pairedRatio(rx.map((r) => r.mbPerSecond), raw.map((r) => r.mbPerSecond));
  const growth = Math.max(...rx.map((r) => r.peakRssGrowth));
  return [
    {
      figure: `${sizes.streamMegabytes} MB through send() vs raw socket, MB/s`,
      rx: `${fmt(median(rx.map((r) => r.mbPerSecond)))} MB/s`,
      peer: `${fmt(median(raw.map((r) => r.mbPerSecond)))} MB/s`,
      ratio,
      target: '>= 0.95x',
      targetRatio: 0.95,
      lowerIsBetter: false,
      met: ratio >= 0.95,
    },
    {
      figure: `${sizes.streamMegabytes} MB through send(): peak RSS growth / 16 MiB`,
      rx: `${fmt(growth / MIB, 1)} MiB`,
      peer: `${fmt(Math.max(...raw.map((r) => r.peakRssGrowth)) / MIB, 1)} MiB (raw)`,
      ratio: growth / RSS_LIMIT,
      target: '< 16 MiB',
      targetRatio: 1,
      lowerIsBetter: true,
      met: growth < RSS_LIMIT,
    },
  ];
}

async function sessionRows(runs: Record<string, unknown>): Promise<Row[]> {
  const auth = await startChildSink(['--pipelining', '--auth'], 'mini-sink with AUTH PLAIN (child process)');
  log(`sessions: ${sizes.sessionRounds} rounds of ${sizes.sessions} connect+EHLO+AUTH PLAIN+QUIT against ${auth.kind}`);
  try {
    const s = await sessions(auth.port, sizes.sessions, sizes.sessionRounds);
    runs.sessions = s;
    const ratio = pairedRatio(s.rx, s.nodemailer);
    return [
      {
        figure: 'connect+EHLO+AUTH PLAIN+QUIT sessions/s',
        rx: `${fmt(median(s.rx))}/s`,
        peer: `${fmt(median(s.nodemailer))}/s`,
        ratio,
        target: '>= 1.5x',
        targetRatio: 1.5,
        lowerIsBetter: false,
        met: ratio >= 1.5,
      },
    ];
  } finally {
    await auth.stop();
  }
}

interface IdleRun {
  heapPerSession: number;
  connected: number;
  failed: number;
}

async function idleRows(sink: BenchServer, runs: Record<string, unknown>): Promise<Row[]> {
  log(`idle sessions: ${sizes.idleSessions} connected at once, each client in a fresh process`);
  const flags = ['--expose-gc'];
  const rx = await runChild<IdleRun>('idle-child.ts', ['rx', String(sink.port), String(sizes.idleSessions)], flags);
  const nm = await runChild<IdleRun>('idle-child.ts', ['nodemailer', String(sink.port), String(sizes.idleSessions)], flags);
  runs.idle = { rx, nodemailer: nm };
  const ratio = rx.heapPerSession / nm.heapPerSession;
  return [
    {
      figure: `${fmt(sizes.idleSessions)} idle sessions: heap/session`,
      rx: `${fmt(rx.heapPerSession / 1024, 1)} KiB (${rx.connected} ok, ${rx.failed} failed)`,
      peer: `${fmt(nm.heapPerSession / 1024, 1)} KiB (${nm.connected} ok, ${nm.failed} failed)`,
      ratio,
      target: '<= 1x, all connect',
      targetRatio: 1,
      lowerIsBetter: true,
      met: ratio <= 1 && rx.failed === 0 && rx.connected === sizes.idleSessions,
    },
  ];
}

function parserRows(runs: Record<string, unknown>): Row[] {
  log(`parseReplies: ${sizes.parserRounds} rounds over ${sizes.parserMegabytes} MB of EHLO replies, alternating with a bare indexOf scan`);
  const p = parser(sizes.parserMegabytes, sizes.parserRounds);
  runs.parser = p;
  const ratio = pairedRatio(p.parseReplies, p.indexOf);
  return [
    {
      figure: 'parseReplies() vs bare Buffer.indexOf scan, MB/s',
      rx: `${fmt(median(p.parseReplies))} MB/s`,
      peer: `${fmt(median(p.indexOf))} MB/s`,
      ratio,
      target: '>= 0.5x',
      targetRatio: 0.5,
      lowerIsBetter: false,
      met: ratio >= 0.5,
    },
  ];
}

function nodemailerVersion(): string {
  return (require('nodemailer/package.json') as { version: string }).version;
}

function report(rows: Row[], runs: Record<string, unknown>, where: Machine, server: string): void {
  const text = table(rows);
  process.stdout.write(`\n${text}\n\n${where.cpus} cores, ${where.model}, Node ${where.node}; server: ${server}${quick ? '; quick run' : ''}\n`);
  const out = path.join(__dirname);
  writeFileSync(
    path.join(out, 'results.json'),
    `${JSON.stringify({ date: new Date().toISOString(), quick, machine: where, server, rx: rxOrigin(), nodemailer: nodemailerVersion(), sizes, rows, runs }, null, 2)}\n`,
  );
  writeFileSync(path.join(out, 'results.svg'), chart(rows, where, server));
  log('wrote bench/results.json and bench/results.svg');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
