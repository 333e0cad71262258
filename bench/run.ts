/**
 * `npm run bench`: every figure of issues 6 and 12, side by side with its peer in one run, as a
 * table, `bench/results.json` and `bench/results.svg`. Options (see bench/README.md):
 * `--quick` (or `BENCH_QUICK=1`) runs smaller batches; `--only=latency,tls` runs some sections
 * only; `--rtt=MS` sets the latency section's round trip (default 10); `--baseline=REF` also
 * builds that git ref and reports every rx-smtp figure as this build over that one.
 *
 * @example
 * ```sh
 * npm run bench -- --quick --baseline=main
 * ```
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { type Machine, type Row, chart, machine, table, withinBaseline } from './report';
import { type Builds, BASELINE_DIR, buildBaseline, buildRx, loadRx, rxOrigin } from './rx';
import type { Section, Sizes } from './sections/context';
import { latencySection } from './sections/latency';
import { parserSection, streamSection, throughputSection, turnsSection } from './sections/loopback';
import { idleSection, sessionsSection, tlsSection } from './sections/sessions';
import { startSmtpSink } from './servers';

/** The issues' sizes; a full run takes a few minutes on two shared cores. */
const FULL: Sizes = {
  messages: 20_000,
  throughputRounds: 5,
  turnsBatch: 100,
  streamMegabytes: 100,
  streamRounds: 5,
  sessions: 500,
  sessionRounds: 5,
  tlsSessions: 300,
  sessionWarmUp: 6000,
  idleSessions: 1000,
  parserMegabytes: 32,
  parserRounds: 7,
  latencyRounds: 5,
  latencyDataMessages: 150,
  latencyChunkingMessages: 2000,
  latencyPoolMessages: 750,
  latencyWarmUp: 20,
};

/** Small enough for a smoke test in about a minute; the figures are noisier. */
const QUICK: Sizes = {
  messages: 3000,
  throughputRounds: 2,
  turnsBatch: 50,
  streamMegabytes: 20,
  streamRounds: 1,
  sessions: 100,
  sessionRounds: 2,
  tlsSessions: 60,
  sessionWarmUp: 200,
  idleSessions: 200,
  parserMegabytes: 8,
  parserRounds: 3,
  latencyRounds: 2,
  latencyDataMessages: 50,
  latencyChunkingMessages: 600,
  latencyPoolMessages: 250,
  latencyWarmUp: 10,
};

/** The order of the table: the latency figures lead, as what users of a distant relay feel. */
const SECTIONS: readonly Section[] = [latencySection, throughputSection, turnsSection, streamSection, sessionsSection, tlsSection, idleSection, parserSection];

/** A relay 10 ms away: a nearby data centre; real relays are 5 to 100 ms away. */
const DEFAULT_RTT_MS = 10;

const args = process.argv.slice(2);
/** `--name=value` or `--name value`. */
const option = (name: string): string | undefined => {
  const joined = args.find((a) => a.startsWith(`--${name}=`));
  if (joined !== undefined) return joined.slice(name.length + 3);
  const at = args.indexOf(`--${name}`);
  return at === -1 ? undefined : args[at + 1];
};
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const only = option('only')?.split(',');
const baselineRef = option('baseline');
const rttMs = Number(option('rtt') ?? DEFAULT_RTT_MS);
const sizes = quick ? QUICK : FULL;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  if (!(rttMs > 0)) throw new Error(`--rtt must be a positive number of milliseconds, not ${option('rtt')}`);
  const unknown = only?.filter((name) => !SECTIONS.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`--only: no section ${unknown.join(', ')} (sections: ${SECTIONS.map((s) => s.name).join(', ')})`);
  const where = machine();
  log(`rx-smtp bench${quick ? ' (quick)' : ''}: ${where.cpus} cores, ${where.model}, Node ${where.node}`);
  buildRx(log);
  const builds: Builds = { rx: loadRx() };
  let baseline: { ref: string; commit: string } | undefined;
  if (baselineRef !== undefined) {
    baseline = { ref: baselineRef, commit: buildBaseline(baselineRef, log) };
    builds.baseline = loadRx(BASELINE_DIR);
    log(`baseline: ${baselineRef} (${baseline.commit}), built into ${path.relative(process.cwd(), BASELINE_DIR)}`);
  }
  log(`rx-smtp: ${rxOrigin()}; nodemailer ${nodemailerVersion()}`);
  const sink = await startSmtpSink(log);
  log(`server: ${sink.kind} on 127.0.0.1:${sink.port}`);
  const rows: Row[] = [];
  const runs: Record<string, unknown> = {};
  try {
    for (const section of SECTIONS) {
      if (only === undefined || only.includes(section.name)) rows.push(...(await section.rows({ builds, sink, sizes, rttMs, runs, log })));
    }
  } finally {
    await sink.stop();
  }
  report(rows, runs, where, sink.kind, baseline);
}

function nodemailerVersion(): string {
  return (require('nodemailer/package.json') as { version: string }).version;
}

function report(rows: Row[], runs: Record<string, unknown>, where: Machine, server: string, baseline: { ref: string; commit: string } | undefined): void {
  const lines = [`\n${table(rows)}\n`, `${where.cpus} cores, ${where.model}, Node ${where.node}; server: ${server}${quick ? '; quick run' : ''}`];
  if (baseline !== undefined) {
    const worse = rows.filter((r) => withinBaseline(r) === false).map((r) => r.figure);
    lines.push(
      `vs baseline ${baseline.ref} (${baseline.commit}): ${worse.length === 0 ? 'every figure within 5% or better' : `more than 5% worse: ${worse.join('; ')}`}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  const out = path.join(__dirname);
  const results = { date: new Date().toISOString(), quick, machine: where, server, rx: rxOrigin(), baseline, nodemailer: nodemailerVersion(), rttMs, sizes, rows, runs };
  writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
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
