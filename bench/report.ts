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
  const head = ['figure', 'rx-smtp', 'peer', 'ratio', 'target', 'met'];
  const body = rows.map((r) => [r.figure, r.rx, r.peer, `${r.ratio.toFixed(2)}x`, r.target, r.met === null ? '(context)' : r.met ? 'yes' : 'NO']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

const WIDTH = 940;
const LABEL_WIDTH = 440;
const BAR_AREA = 420;
const ROW_HEIGHT = 30;
const TOP = 56;

/**
 * A horizontal bar chart of the ratios, each with its target marked, as SVG text: no browser, no
 * dependency. Green bars meet their target, red ones miss it, grey ones are context.
 *
 * @example
 * ```ts
 * writeFileSync('bench/results.svg', chart(rows, machine(), 'smtp-sink'));
 * ```
 */
export function chart(rows: readonly Row[], where: Machine, server: string): string {
  const scale = Math.max(...rows.flatMap((r) => [r.ratio, r.targetRatio])) * 1.12;
  const x = (ratio: number): number => LABEL_WIDTH + (ratio / scale) * BAR_AREA;
  const height = TOP + rows.length * ROW_HEIGHT + 40;
  const bars = rows.map((r, i) => {
    const y = TOP + i * ROW_HEIGHT;
    const colour = r.met === null ? '#9e9e9e' : r.met ? '#2e7d32' : '#c62828';
    const label = `${r.figure}${r.lowerIsBetter ? ' (lower is better)' : ''}`;
    return [
      `<text x="${LABEL_WIDTH - 8}" y="${y + 17}" text-anchor="end">${escape(label)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y + 5}" width="${(x(r.ratio) - LABEL_WIDTH).toFixed(1)}" height="${ROW_HEIGHT - 10}" fill="${colour}"/>`,
      `<text x="${(x(r.ratio) + 4).toFixed(1)}" y="${y + 17}">${r.ratio.toFixed(2)}x</text>`,
      r.met === null ? '' : `<line x1="${x(r.targetRatio).toFixed(1)}" x2="${x(r.targetRatio).toFixed(1)}" y1="${y + 2}" y2="${y + ROW_HEIGHT - 2}" stroke="#000" stroke-width="2" stroke-dasharray="3,2"/>`,
    ].join('');
  });
  const note = `${where.cpus} cores, ${where.model}, Node ${where.node}; server: ${server}. Dashed mark: the target.`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="24" font-size="16" font-weight="bold">rx-smtp benchmark: ratios measured side by side in one run</text>`,
    `<line x1="${LABEL_WIDTH}" x2="${LABEL_WIDTH}" y1="${TOP}" y2="${TOP + rows.length * ROW_HEIGHT}" stroke="#444"/>`,
    `<line x1="${x(1).toFixed(1)}" x2="${x(1).toFixed(1)}" y1="${TOP - 6}" y2="${TOP + rows.length * ROW_HEIGHT}" stroke="#bbb"/>`,
    `<text x="${x(1).toFixed(1)}" y="${TOP - 9}" text-anchor="middle" fill="#777">1x</text>`,
    ...bars,
    `<text x="12" y="${height - 14}" fill="#555">${escape(note)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
