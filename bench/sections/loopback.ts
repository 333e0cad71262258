import { parser } from '../figures/parser';
import { type RoundTrips, type RxTurns, roundTrips } from '../figures/round-trips';
import { throughput } from '../figures/throughput';
import type { Row } from '../report';
import { alternate } from '../rounds';
import { buildEnv } from '../rx';
import { runChild } from '../servers';
import { type Context, type Section, fmt, rateRow } from './context';

/**
 * 1 KB messages on one connection against smtp-sink: rx-smtp's `sendAll` against nodemailer and
 * against the one-turn raw client.
 *
 * @example
 * ```ts
 * const rows = await throughputSection.rows(ctx);
 * ```
 */
export const throughputSection: Section = {
  name: 'throughput',
  async rows({ builds, sink, sizes, runs, log }: Context): Promise<Row[]> {
    log(`1 KB messages: ${sizes.throughputRounds} rounds of ${fmt(sizes.messages)}, alternating rx-smtp / nodemailer / one-turn raw client`);
    const { messages, throughputRounds: rounds } = sizes;
    const r = await throughput(builds, sink.port, { rxMessages: messages, nmMessages: messages, warmUp: 500, rounds, oneTurn: true });
    runs.throughput = r;
    return [
      rateRow('1 KB msgs/s, one connection, sendAll vs nodemailer', r, r.nodemailer, { unit: '/s', target: '>= 3x', targetRatio: 3 }),
      rateRow('1 KB msgs/s, sendAll vs one-turn raw socket (protocol limit)', r, r.oneTurn!, { unit: '/s', target: null, targetRatio: 1 }),
    ];
  },
};

/**
 * Round trips per message, counted by the mini sink in this process (exact, not timed).
 *
 * @example
 * ```ts
 * const rows = await turnsSection.rows(ctx);
 * ```
 */
export const turnsSection: Section = {
  name: 'turns',
  async rows({ builds, sizes, runs, log }: Context): Promise<Row[]> {
    log(`round trips: batches of ${sizes.turnsBatch} and ${2 * sizes.turnsBatch} messages against the counting sink`);
    const t = await roundTrips(builds, sizes.turnsBatch);
    runs.roundTrips = t;
    const nm = t.nodemailer;
    return [
      turnRow(t, 'round trips/msg, PIPELINING', (x) => x.pipelining, nm.pipelining, { target: '1 (nodemailer 2)', targetRatio: 0.5, met: t.rx.pipelining <= 1 }),
      turnRow(t, 'round trips/msg, CHUNKING (vs 1 turn)', (x) => x.chunking, null, { target: '< 1', targetRatio: 1, met: t.rx.chunking < 1 }),
      turnRow(t, 'round trips/msg, no PIPELINING (lock-step)', (x) => x.lockStep, nm.lockStep, { target: '(context)', targetRatio: 1, met: null }),
    ];
  },
};

/** A round-trip row: rx-smtp's turns over nodemailer's (or over one turn where nodemailer has none). */
function turnRow(t: RoundTrips, figure: string, pick: (turns: RxTurns) => number, peer: number | null, goal: Pick<Row, 'target' | 'targetRatio' | 'met'>): Row {
  const rx = pick(t.rx);
  const row: Row = { figure, rx: fmt(rx, 2), peer: peer === null ? 'n/a (no BDAT)' : fmt(peer, 2), ratio: rx / (peer ?? 1), lowerIsBetter: true, ...goal };
  if (t.baseline !== undefined) row.baseline = rx / pick(t.baseline);
  return row;
}

interface StreamRun {
  mbPerSecond: number;
  peakRssGrowth: number;
}

const MIB = 1024 * 1024;
/** The bound on peak RSS growth while streaming 100 MB. */
const RSS_LIMIT = 16 * MIB;

/**
 * One large message streamed through `send()` against the same chunks written to a raw socket,
 * each run in a fresh process (so that its peak RSS growth is its own).
 *
 * @example
 * ```ts
 * const rows = await streamSection.rows(ctx);
 * ```
 */
export const streamSection: Section = {
  name: 'stream',
  async rows({ builds, sink, sizes, runs, log }: Context): Promise<Row[]> {
    log(`${sizes.streamMegabytes} MB streamed: ${sizes.streamRounds} rounds, alternating send() / raw socket, each in a fresh process`);
    const child = (mode: 'rx' | 'raw', env: Record<string, string> = {}) => (): Promise<StreamRun> =>
      runChild<StreamRun>('stream-child.ts', [mode, String(sink.port), String(sizes.streamMegabytes)], [], env);
    const streamed = await alternate(sizes.streamRounds, {
      rx: child('rx', buildEnv('rx')),
      baseline: builds.baseline === undefined ? undefined : child('rx', buildEnv('baseline')),
      raw: child('raw'),
    });
    runs.stream = streamed;
    const { rx, baseline, raw } = streamed;
    const rates = (list: StreamRun[]): number[] => list.map((run) => run.mbPerSecond);
    const peak = (list: StreamRun[]): number => Math.max(...list.map((r) => r.peakRssGrowth));
    const growth = peak(rx);
    const rssRow: Row = {
      figure: `${sizes.streamMegabytes} MB through send(): peak RSS growth / 16 MiB`,
      rx: `${fmt(growth / MIB, 1)} MiB`,
      peer: `${fmt(peak(raw) / MIB, 1)} MiB (raw)`,
      ratio: growth / RSS_LIMIT,
      target: '< 16 MiB',
      targetRatio: 1,
      lowerIsBetter: true,
      met: growth < RSS_LIMIT,
    };
    if (baseline !== undefined) rssRow.baseline = growth / peak(baseline);
    const rateRuns = baseline === undefined ? { rx: rates(rx) } : { rx: rates(rx), baseline: rates(baseline) };
    return [
      rateRow(`${sizes.streamMegabytes} MB through send() vs raw socket, MB/s`, rateRuns, rates(raw), { unit: ' MB/s', target: '>= 0.95x', targetRatio: 0.95 }),
      rssRow,
    ];
  },
};

/**
 * `parseReplies()` against a bare `Buffer.indexOf` scan of the same chunks.
 *
 * @example
 * ```ts
 * const rows = await parserSection.rows(ctx);
 * ```
 */
export const parserSection: Section = {
  name: 'parser',
  async rows({ builds, sizes, runs, log }: Context): Promise<Row[]> {
    log(`parseReplies: ${sizes.parserRounds} rounds over ${sizes.parserMegabytes} MB of EHLO replies, alternating with a bare indexOf scan`);
    const p = await parser(builds, sizes.parserMegabytes, sizes.parserRounds);
    runs.parser = p;
    return [rateRow('parseReplies() vs bare Buffer.indexOf scan, MB/s', p, p.indexOf, { unit: ' MB/s', target: '>= 0.5x', targetRatio: 0.5 })];
  },
};
