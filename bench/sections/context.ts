import { type Row, median, pairedRatio } from '../report';
import type { Builds, Sides } from '../rx';
import type { BenchServer } from '../servers';

/**
 * How big a run is. The full sizes take a few minutes on two shared cores; `--quick` shrinks them.
 *
 * @example
 * ```ts
 * const sizes: Sizes = quick ? QUICK : FULL;
 * ```
 */
export interface Sizes {
  messages: number;
  throughputRounds: number;
  turnsBatch: number;
  streamMegabytes: number;
  streamRounds: number;
  sessions: number;
  sessionRounds: number;
  tlsSessions: number;
  /**
   * Sessions each client makes, unmeasured, before the first measured round of the sessions and
   * TLS sessions figures: V8 optimises code that runs once a session only after thousands of them.
   */
  sessionWarmUp: number;
  idleSessions: number;
  parserMegabytes: number;
  parserRounds: number;
  latencyRounds: number;
  /** Messages a round at a 10 ms round trip (scaled by 10 / RTT for another `--rtt`). */
  latencyDataMessages: number;
  latencyChunkingMessages: number;
  latencyPoolMessages: number;
  latencyWarmUp: number;
}

/**
 * What every section of the run gets: the builds to measure, smtp-sink, the sizes, the round trip
 * asked for with `--rtt`, where to put its raw runs (for results.json), and the log.
 *
 * @example
 * ```ts
 * const rows = await section.rows({ builds, sink, sizes, rttMs: 10, runs: {}, log: console.error });
 * ```
 */
export interface Context {
  builds: Builds;
  sink: BenchServer;
  sizes: Sizes;
  rttMs: number;
  runs: Record<string, unknown>;
  log: (line: string) => void;
}

/**
 * One part of `npm run bench`, selectable with `--only=NAME`.
 *
 * @example
 * ```ts
 * const parser: Section = { name: 'parser', rows: async (ctx) => [...] };
 * ```
 */
export interface Section {
  name: string;
  rows(ctx: Context): Promise<Row[]>;
}

/**
 * A number with thousands separators and a fixed count of decimals.
 *
 * @example
 * ```ts
 * fmt(6653.2); // '6,653'
 * ```
 */
export function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/**
 * How a rate row reads: the unit after each median, the target (`null` for context only), and the
 * protocol's limit as context.
 *
 * @example
 * ```ts
 * const how: RateRow = { unit: ' MB/s', target: '>= 0.95x', targetRatio: 0.95 };
 * ```
 */
export interface RateRow {
  unit: string;
  target: string | null;
  targetRatio: number;
  limit?: string;
  /** The peer's cell, when the median alone does not say enough. */
  peerCell?: string;
  /** Text after rx-smtp's median. */
  rxNote?: string;
}

/**
 * A row for a rate where higher is better, from per-round figures of rx-smtp's build (and the
 * baseline's) and of the peer: medians of each side, the median of the per-round ratios against
 * the peer, and against the baseline build when there is one.
 *
 * @example
 * ```ts
 * rows.push(rateRow('1 KB msgs/s', t, t.nodemailer, { unit: '/s', target: '>= 3x', targetRatio: 3 }));
 * ```
 */
export function rateRow(figure: string, runs: Sides<number[]>, peer: number[], how: RateRow): Row {
  const ratio = pairedRatio(runs.rx, peer);
  const row: Row = {
    figure,
    rx: `${fmt(median(runs.rx))}${how.unit}${how.rxNote ?? ''}`,
    peer: how.peerCell ?? `${fmt(median(peer))}${how.unit}`,
    ratio,
    target: how.target ?? '(context)',
    targetRatio: how.targetRatio,
    lowerIsBetter: false,
    met: how.target === null ? null : ratio >= how.targetRatio,
  };
  if (how.limit !== undefined) row.limit = how.limit;
  if (runs.baseline !== undefined) row.baseline = pairedRatio(runs.rx, runs.baseline);
  return row;
}
