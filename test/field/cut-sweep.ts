import * as timers from 'node:timers';
import { lastValueFrom } from 'rxjs';
import type { SessionOptions } from '../../lib/options';
import { createSession } from '../../lib/session';
import { type CallRecord, accountingViolations, deliveredMarkers } from '../fixtures/accounting';
import { CallRecorder } from '../fixtures/call-recorder';
import { type CutKind, type CutPoint, type Direction, type ProxyConnection, startFaultProxy } from '../fixtures/fault-proxy';
import { activeHandles, expectNoLeaks } from '../fixtures/handles';
import type { MailStore } from '../fixtures/mail-store';
import { markedMail } from '../fixtures/marked-mail';
import { turns } from '../fixtures/observe';

/**
 * Cut sweeps: a short session (connect, `sendAll` of 3 mails pipelined, QUIT) through the fault
 * proxy, cut at byte offset after byte offset in each direction, by FIN and by RST, against one
 * server; after each run the accounting invariant. `npm test` sweeps a deterministic subset (see
 * {@link offsetsToSweep}); `npm run soak:field` every offset. Runs go several at a time (each
 * through a proxy of its own); a real server's store is checked once, after the runs.
 *
 * @example
 * ```ts
 * const sweep = await startSweep({ name: 'smtp-server', port: server.port, store: smtpServerStore(server) });
 * const report = await sweep.run(sweep.cuts('toServer', 'fin', { every: 7 }));
 * expect(report.violations).to.deep.equal([]);
 * ```
 */

/** The server a sweep runs against. */
export interface SweepTarget {
  /** Short, for markers and reports: `smtp-server`, `postfix`, `exim`. */
  name: string;
  port: number;
  store: MailStore;
  /**
   * True when the store is only final once the server has stored on its own schedule (a real
   * server): then the runs are checked together, once, after the whole sweep.
   */
  batch?: boolean;
  session?: SessionOptions;
}

/** What a sweep found. */
export interface SweepReport {
  runs: number;
  /** Runs whose sendAll ended with every mail delivered (the cut came too late to matter). */
  untouched: number;
  violations: string[];
  /** Wall time of the sweep, ms. */
  ms: number;
}

/** Both directions, each by FIN and by RST: the four kinds of cut a full sweep runs. */
export const ALL_CUT_KINDS: readonly [Direction, CutKind][] = [
  ['toServer', 'fin'],
  ['toServer', 'rst'],
  ['toClient', 'fin'],
  ['toClient', 'rst'],
];

/** Mails per session: enough that a cut can fall between, inside and after pipelined transactions. */
const MAILS_PER_SESSION = 3;
/**
 * The session's `timeout`: no cut leaves a command unanswered on a live connection (the proxy
 * closes both sides), so this only ends a run in which the library itself hangs.
 */
const RUN_TIMEOUT_MS = 10_000;
/**
 * Runs at once: smtp-server waits 100 ms before its greeting (to catch early talkers) and Exim
 * forks per connection, so runs one after another would spend most of their time waiting.
 */
export const DEFAULT_CONCURRENCY = 8;
/** A run that has not ended this long after its deadline had hung: reported, not waited for. */
const HANG_MS = RUN_TIMEOUT_MS * 2;

// Captured at load: the sweep may run beside fake timers, and its hang guard is real time.
const realSetTimeout = timers.setTimeout;
const realClearTimeout = timers.clearTimeout;

/** Resolves with true when `promise` settles within `ms`, false otherwise; leaves no timer. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = realSetTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), expired]);
  } finally {
    realClearTimeout(timer);
  }
}

/** Where commands (and BDAT chunks, and the end of data) start in the client's bytes. */
export function clientBoundaries(bytes: Buffer): number[] {
  const points = [0, bytes.length];
  let inData = false;
  for (let at = 0; at < bytes.length; ) {
    const eol = bytes.indexOf('\r\n', at);
    if (eol < 0) break;
    const line = bytes.subarray(at, eol).toString('latin1');
    const next = eol + 2;
    if (inData) {
      if (line === '.') {
        points.push(at, next);
        inData = false;
      }
      at = next;
      continue;
    }
    points.push(at);
    const bdat = /^BDAT (\d+)/i.exec(line);
    if (bdat !== null) {
      points.push(next);
      at = next + Number(bdat[1]);
      continue;
    }
    inData = /^DATA$/i.test(line);
    if (inData) points.push(next);
    at = next;
  }
  return [...new Set(points)].sort((a, b) => a - b);
}

/** Where each reply line starts in the server's bytes. */
export function serverBoundaries(bytes: Buffer): number[] {
  const points = [0, bytes.length];
  for (let at = bytes.indexOf('\r\n'); at >= 0; at = bytes.indexOf('\r\n', at + 2)) points.push(at + 2);
  return [...new Set(points)].sort((a, b) => a - b);
}

/** Which offsets a sweep cuts at: every `every`-th, and each boundary shifted by each of `near`. */
export interface SweepSubset {
  every?: number;
  /** Default [-1, 0, 1]: the bytes just before, at and after each boundary, where off-by-one defects live. */
  near?: readonly number[];
}

/** The offsets of a stream of `length` bytes to cut at: all of them, or the `subset`. */
export function offsetsToSweep(length: number, boundaries: readonly number[], subset?: SweepSubset): number[] {
  if (subset === undefined) return Array.from({ length }, (_, i) => i);
  const offsets = new Set<number>();
  if (subset.every !== undefined) for (let at = 0; at < length; at += subset.every) offsets.add(at);
  for (const b of boundaries) for (const delta of subset.near ?? [-1, 0, 1]) if (b + delta >= 0 && b + delta < length) offsets.add(b + delta);
  return [...offsets].sort((a, b) => a - b);
}

/** A sweep against one server: each run through a proxy of its own, with its cut. */
export interface Sweep {
  /** The uncut session's bytes each way (from the first, faithful run). */
  readonly baseline: Record<Direction, Buffer>;
  /**
   * The cuts to run in `direction`: at every offset, or at a `subset` (see {@link offsetsToSweep}),
   * by `how`, or by each of several kinds in turn, offset after offset.
   */
  cuts(direction: Direction, how: CutKind | readonly CutKind[], subset?: SweepSubset): CutPoint[];
  /** Runs the cuts, `concurrency` sessions at a time (default {@link DEFAULT_CONCURRENCY}). */
  run(cuts: readonly CutPoint[], concurrency?: number): Promise<SweepReport>;
}

/** Fixed-width markers, so that every run's bytes line up with the baseline's offsets. */
const markerFor = (target: string, cut: CutPoint | undefined, i: number): string =>
  `${target}-${cut === undefined ? 'base' : `${cut.direction === 'toServer' ? 'S' : 'C'}${cut.how === 'fin' ? 'F' : 'R'}${String(cut.at).padStart(5, '0')}`}-m${i}`;

/** One run: a session through a proxy of its own with `cut`; what its sendAll said, what went wrong around it. */
async function session(target: SweepTarget, cut: CutPoint | undefined): Promise<{ record?: CallRecord; violations: string[]; link: ProxyConnection | undefined }> {
  const label = `${target.name} ${cut === undefined ? 'uncut' : `cut ${cut.direction} at ${cut.at} by ${cut.how}`}`;
  const violations: string[] = [];
  const proxy = await startFaultProxy({ port: target.port }, cut === undefined ? {} : { cut });
  const client = createSession({ tls: 'none', timeout: RUN_TIMEOUT_MS, ...target.session });
  let record: CallRecord | undefined;
  try {
    const connected = await lastValueFrom(client.connect({ host: '127.0.0.1', port: proxy.port })).then(() => true, () => false);
    if (connected) {
      const mails = Array.from({ length: MAILS_PER_SESSION }, (_, i) => markedMail(markerFor(target.name, cut, i)));
      const call = new CallRecorder(`${label}: sendAll`, 'sendAll', mails).start(client.sendAll(mails));
      if (!(await within(call.ended, HANG_MS))) violations.push(`${label}: sendAll hung`);
      record = call.finish();
      if (client.state.status === 'connected') {
        const quit = lastValueFrom(client.quit(), { defaultValue: undefined });
        if (!(await within(quit, HANG_MS))) violations.push(`${label}: QUIT hung`);
      }
    }
  } finally {
    client.dispose();
  }
  if (!(await within(proxy.idle(), HANG_MS))) violations.push(`${label}: a connection stayed open after dispose`);
  await proxy.close();
  return { ...(record !== undefined && { record }), violations, link: proxy.connections[0] };
}

/** Starts a sweep against `target`, with one faithful run for the baseline. */
export async function startSweep(target: SweepTarget): Promise<Sweep> {
  const since = target.store.mark();
  const first = await session(target, undefined);
  const firstRecords = first.record === undefined ? [] : [first.record];
  const firstStored = await target.store.settle(since, deliveredMarkers(firstRecords));
  const firstViolations = [...first.violations, ...accountingViolations(firstRecords, firstStored, target.store.normalise)];
  if (first.link === undefined || firstViolations.length > 0 || first.record?.fates.some((f) => f[0] !== 'delivered') !== false) {
    throw new Error(`the uncut session against ${target.name} did not deliver its ${MAILS_PER_SESSION} mails: ${firstViolations.join('; ')}`);
  }
  const baseline = { toServer: first.link.forwarded('toServer'), toClient: first.link.forwarded('toClient') };
  /** Batch mode: every run so far, and the violations already reported. */
  const records: CallRecord[] = [...firstRecords];
  const reported = new Set<string>();
  /** Runs `wave` at once; their handles must be gone once all have ended. */
  const runWave = async (wave: readonly CutPoint[], report: SweepReport): Promise<void> => {
    // A turn first: mocha starts an async test's own timer only after the test's first await.
    await turns(1);
    const handles = activeHandles();
    const cursor = target.store.mark();
    const runs = await Promise.all(wave.map((cut) => session(target, cut)));
    await expectNoLeaks(handles).catch((error: Error) => report.violations.push(`${target.name} cuts ${wave.map((c) => `${c.direction}@${c.at}/${c.how}`).join(' ')}: ${error.message}`));
    const waveRecords: CallRecord[] = [];
    for (const { record, violations } of runs) {
      report.runs++;
      report.violations.push(...violations);
      if (record === undefined) continue;
      if (record.fates.every((f) => f[0] === 'delivered')) report.untouched++;
      (target.batch === true ? records : waveRecords).push(record);
    }
    if (target.batch !== true) report.violations.push(...accountingViolations(waveRecords, await target.store.settle(cursor, deliveredMarkers(waveRecords)), target.store.normalise));
  };
  return {
    baseline,
    cuts(direction, how, subset) {
      const bytes = baseline[direction];
      const boundaries = direction === 'toServer' ? clientBoundaries(bytes) : serverBoundaries(bytes);
      const hows = typeof how === 'string' ? [how] : how;
      return offsetsToSweep(bytes.length, boundaries, subset).map((at, i) => ({ direction, at, how: hows[i % hows.length]! }));
    },
    async run(cuts, concurrency = DEFAULT_CONCURRENCY) {
      const started = performance.now();
      const report: SweepReport = { runs: 0, untouched: 0, violations: [], ms: 0 };
      for (let i = 0; i < cuts.length; i += concurrency) await runWave(cuts.slice(i, i + concurrency), report);
      if (target.batch === true) {
        // Everything since the sweep began, against every run so far: a real server may store a
        // message of an earlier batch late (it delivers from its queue at its own pace).
        const stored = await target.store.settle(since, deliveredMarkers(records));
        for (const violation of accountingViolations(records, stored, target.store.normalise)) {
          if (!reported.has(violation)) report.violations.push(violation);
          reported.add(violation);
        }
      }
      report.ms = Math.round(performance.now() - started);
      return report;
    },
  };
}
