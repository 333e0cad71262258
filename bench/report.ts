import * as os from 'node:os';

/**
 * One line of the results table, and one bar of the chart.
 *
 * @example
 * ```ts
 * const row: Row = { figure: 'x', rx: '1', peer: '2', ratio: 0.5, target: '< 1', targetRatio: 1, lowerIsBetter: true, met: true };
 * ```
 */
export interface Row {
  figure: string;
  /** rx-smtp's figure, formatted with its unit. */
  rx: string;
  /** The peer's figure (nodemailer, the raw socket or the bare scan), formatted. */
  peer: string;
  /** What the target compares: rx-smtp over the peer, or over the limit for absolute targets. */
  ratio: number;
  /** The target as the issue states it. */
  target: string;
  /** The ratio the target sets, drawn as a mark on the bar. */
  targetRatio: number;
  lowerIsBetter: boolean;
  /** Whether the target is met; null for rows shown for context only. */
  met: boolean | null;
  /** The protocol's limit for this figure, as context (e.g. `2x: 1 RTT/msg vs 2`). */
  limit?: string;
  /** With `--baseline`: this build's figure over the baseline build's (same direction as `ratio`). */
  baseline?: number;
}

/**
 * Issue 11: every figure within 5% of the previous build's, measured build against build.
 *
 * @example
 * ```ts
 * row.baseline! >= 1 - BASELINE_TOLERANCE;
 * ```
 */
export const BASELINE_TOLERANCE = 0.05;

/**
 * Whether this build's figure is within {@link BASELINE_TOLERANCE} of the baseline's, or better:
 * at least 0.95x where higher is better, at most 1.05x where lower is better; null without a baseline.
 *
 * @example
 * ```ts
 * withinBaseline({ ...row, baseline: 0.97 }); // true
 * ```
 */
export function withinBaseline(row: Row): boolean | null {
  if (row.baseline === undefined) return null;
  return row.lowerIsBetter ? row.baseline <= 1 + BASELINE_TOLERANCE : row.baseline >= 1 - BASELINE_TOLERANCE;
}

/**
 * The machine a run was made on, as the README quotes it.
 *
 * @example
 * ```ts
 * const { cpus, model, node }: Machine = machine();
 * ```
 */
export interface Machine {
  cpus: number;
  model: string;
  node: string;
  platform: string;
}

/**
 * `nproc`, the CPU model from /proc/cpuinfo (via `os.cpus()`), Node's version.
 *
 * @example
 * ```ts
 * machine(); // { cpus: 2, model: 'AMD EPYC', node: 'v20.20.2', ... }
 * ```
 */
export function machine(): Machine {
  return { cpus: os.availableParallelism(), model: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.type()} ${os.release()}` };
}

/**
 * The middle value (the mean of the two middle ones for an even count).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The median of the per-round ratios a[i] / b[i]: rounds alternate, so each pair saw the same drift.
 *
 * @example
 * ```ts
 * pairedRatio([10, 20], [5, 5]); // 3
 * ```
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((value, i) => value / b[i]!));
}

/**
 * A Markdown table of the rows (it reads as well in a terminal).
 *
 * @example
 * ```ts
 * console.log(table(rows));
 * ```
 */
export function table(rows: readonly Row[]): string {
  const limits = rows.some((r) => r.limit !== undefined);
  const baselines = rows.some((r) => r.baseline !== undefined);
  const head = ['figure', 'rx-smtp', 'peer', 'ratio', 'target', 'met', ...(limits ? ['limit (context)'] : []), ...(baselines ? ['vs baseline'] : [])];
  const body = rows.map((r) => [
    r.figure,
    r.rx,
    r.peer,
    `${r.ratio.toFixed(2)}x`,
    r.target,
    r.met === null ? '(context)' : r.met ? 'yes' : 'NO',
    ...(limits ? [r.limit ?? ''] : []),
    ...(baselines ? [baselineCell(r)] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

function baselineCell(row: Row): string {
  if (row.baseline === undefined) return '';
  return `${row.baseline.toFixed(2)}x ${withinBaseline(row) === true ? 'ok' : 'WORSE'}`;
}

const WIDTH = 940;
/** Room on the right for each bar's figures when the baseline's ratio is written after them. */
const BASELINE_TEXT_WIDTH = 110;
const LABEL_WIDTH = 440;
const BAR_AREA = 420;
const ROW_HEIGHT = 30;
const TOP = 56;
/** Ratios below this many times the smallest (or above the largest) still fit with their text. */
const SCALE_MARGIN = 1.3;

/**
 * A horizontal bar chart of the ratios, each with its target marked, as SVG text: no browser, no
 * dependency. Green bars meet their target, red ones miss it, grey ones are context. The scale is
 * logarithmic (gridlines at each power of ten): round trips per message sit near 0.1x, CHUNKING at
 * a 10 ms round trip aims at 40x, and both must stay readable.
 *
 * @example
 * ```ts
 * writeFileSync('bench/results.svg', chart(rows, machine(), 'smtp-sink'));
 * ```
 */
export function chart(rows: readonly Row[], where: Machine, server: string): string {
  const values = rows.flatMap((r) => [r.ratio, r.targetRatio]).filter((v) => v > 0);
  const low = 10 ** Math.floor(Math.log10(Math.min(...values) / SCALE_MARGIN));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...values) * SCALE_MARGIN));
  const x = (ratio: number): number => LABEL_WIDTH + (Math.log10(Math.max(ratio, low) / low) / Math.log10(high / low)) * BAR_AREA;
  const width = WIDTH + (rows.some((r) => r.baseline !== undefined) ? BASELINE_TEXT_WIDTH : 0);
  const height = TOP + rows.length * ROW_HEIGHT + 40;
  const bottom = TOP + rows.length * ROW_HEIGHT;
  const grid: string[] = [];
  for (let tick = low; tick <= high * 1.001; tick *= 10) {
    const at = x(tick).toFixed(1);
    grid.push(
      `<line x1="${at}" x2="${at}" y1="${TOP - 6}" y2="${bottom}" stroke="${Math.abs(tick - 1) < 1e-9 ? '#999' : '#ddd'}"/>`,
      `<text x="${at}" y="${TOP - 9}" text-anchor="middle" fill="#777">${Number(tick.toPrecision(1))}x</text>`,
    );
  }
  const bars = rows.map((r, i) => {
    const y = TOP + i * ROW_HEIGHT;
    const colour = r.met === null ? '#9e9e9e' : r.met ? '#2e7d32' : '#c62828';
    const label = `${r.figure}${r.lowerIsBetter ? ' (lower is better)' : ''}`;
    const figures = `${r.ratio.toFixed(2)}x${r.baseline === undefined ? '' : ` (${r.baseline.toFixed(2)}x baseline)`}`;
    return [
      `<text x="${LABEL_WIDTH - 8}" y="${y + 17}" text-anchor="end">${escape(label)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y + 5}" width="${(x(r.ratio) - LABEL_WIDTH).toFixed(1)}" height="${ROW_HEIGHT - 10}" fill="${colour}"/>`,
      `<text x="${(x(r.ratio) + 4).toFixed(1)}" y="${y + 17}">${figures}</text>`,
      r.met === null ? '' : `<line x1="${x(r.targetRatio).toFixed(1)}" x2="${x(r.targetRatio).toFixed(1)}" y1="${y + 2}" y2="${y + ROW_HEIGHT - 2}" stroke="#000" stroke-width="2" stroke-dasharray="3,2"/>`,
    ].join('');
  });
  const note = `${where.cpus} cores, ${where.model}, Node ${where.node}; server: ${server}. Log scale; dashed mark: the target.`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="24" font-size="16" font-weight="bold">rx-smtp benchmark: ratios measured side by side in one run</text>`,
    ...grid,
    `<line x1="${LABEL_WIDTH}" x2="${LABEL_WIDTH}" y1="${TOP}" y2="${bottom}" stroke="#444"/>`,
    ...bars,
    `<text x="12" y="${height - 14}" fill="#555">${escape(note)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
