import { SingleBar } from 'cli-progress';
import type { CliIo } from './io';

/** One message's fate, as the progress display shows it. */
export interface ProgressEvent {
  ok: boolean;
  /** Where the message came from (`line 3` of a `--mails` file); without it, its place in the run. */
  label?: string | undefined;
  /** The recipients, for the line. */
  to: readonly string[];
  /** The server's answer (`250 2.0.0 Ok: queued as X`) or the error (`ESERVERPERM 550 ...`), sanitised. */
  detail: string;
  /** Recipients of a sent message that the server refused, each with its reply, sanitised. */
  refused?: readonly { recipient: string; detail: string }[];
}

/**
 * Shows a many-message run: a live bar (sent, failed, messages/s) on a terminal, or one plain
 * line per message when the output is a pipe or a file, so that logs stay readable.
 *
 * @example
 * ```ts
 * const progress = createProgress(io, 20);
 * progress.record({ ok: true, to: ['b@example.com'], detail: '250 Ok' });
 * progress.finish();
 * ```
 */
export interface Progress {
  readonly sent: number;
  readonly failed: number;
  /** Recipients refused in messages that were sent to others. */
  readonly refused: number;
  record(event: ProgressEvent): void;
  /** Stops the bar and prints the summary (and, on a terminal, the failures it could not show). */
  finish(): void;
}

/** Failures listed after a terminal run; beyond this only their number is worth a line. */
const MAX_LISTED_FAILURES = 20;
/** Redraws per second of the bar: lively without flooding a slow terminal. */
const BAR_FPS = 10;

/**
 * Creates the display for `total` messages (undefined when not known up front, as for a `--mails`
 * file). A bar when stdout is a terminal, plain lines otherwise. `now` is injectable for tests.
 *
 * @example
 * ```ts
 * const progress = createProgress(io, command.count);
 * ```
 */
export function createProgress(io: CliIo, total: number | undefined, now: () => number = Date.now): Progress {
  return io.stdout.isTTY === true ? new BarProgress(io, total, now) : new LineProgress(io, total, now);
}

abstract class Tally implements Progress {
  sent = 0;
  failed = 0;
  refused = 0;
  protected readonly started: number;

  constructor(
    protected readonly io: CliIo,
    protected readonly total: number | undefined,
    protected readonly now: () => number,
  ) {
    this.started = now();
  }

  record(event: ProgressEvent): void {
    if (event.ok) this.sent++;
    else this.failed++;
    this.refused += event.refused?.length ?? 0;
    this.show(event);
  }

  abstract finish(): void;
  protected abstract show(event: ProgressEvent): void;

  protected get done(): number {
    return this.sent + this.failed;
  }

  protected rate(): string {
    const seconds = (this.now() - this.started) / 1000;
    return seconds > 0 ? (this.done / seconds).toFixed(1) : '0.0';
  }

  protected summary(): string {
    const seconds = ((this.now() - this.started) / 1000).toFixed(1);
    const refused = this.refused > 0 ? `, ${this.refused} recipients refused` : '';
    return `${this.sent} sent, ${this.failed} failed${refused} in ${seconds} s (${this.rate()} messages/s)\n`;
  }

  /** The message's place: its label, or how many have ended so far (of how many). */
  protected position(event: ProgressEvent): string {
    if (event.label !== undefined) return event.label;
    return this.total === undefined ? `${this.done}` : `${this.done}/${this.total}`;
  }
}

/** Plain lines: `sent 3/20 b@example.com: 250 Ok` (or `sent line 3 ...`), `refused line 3 c@example.com: 550 ...`, then the summary. */
class LineProgress extends Tally {
  protected show(event: ProgressEvent): void {
    const position = this.position(event);
    this.io.stdout.write(`${event.ok ? 'sent' : 'failed'} ${position} ${event.to.join(', ')}: ${event.detail}\n`);
    for (const { recipient, detail } of event.refused ?? []) this.io.stdout.write(`refused ${position} ${recipient}: ${detail}\n`);
  }

  finish(): void {
    this.io.stdout.write(this.summary());
  }
}

/** A cli-progress bar; failures are kept and listed once the bar has stopped. */
class BarProgress extends Tally {
  private readonly bar: SingleBar;
  private readonly failures: string[] = [];

  constructor(io: CliIo, total: number | undefined, now: () => number) {
    super(io, total, now);
    const counts = 'sent {sent} | failed {failed} | {rate} messages/s';
    this.bar = new SingleBar({
      format: total === undefined ? `{value} done | ${counts}` : `{bar} {value}/{total} | ${counts}`,
      stream: io.stdout,
      fps: BAR_FPS,
      hideCursor: true,
    });
    this.bar.start(total ?? 0, 0, this.payload());
  }

  protected show(event: ProgressEvent): void {
    const position = this.position(event);
    const lines = [
      ...(event.ok ? [] : [`failed ${position} ${event.to.join(', ')}: ${event.detail}`]),
      ...(event.refused ?? []).map(({ recipient, detail }) => `refused ${position} ${recipient}: ${detail}`),
    ];
    for (const line of lines) if (this.failures.length < MAX_LISTED_FAILURES) this.failures.push(line);
    this.bar.update(this.done, this.payload());
  }

  finish(): void {
    this.bar.update(this.done, this.payload());
    this.bar.stop();
    for (const line of this.failures) this.io.stderr.write(`${line}\n`);
    const untold = this.failed + this.refused - this.failures.length;
    if (untold > 0) this.io.stderr.write(`... and ${untold} more failures and refusals\n`);
    this.io.stdout.write(this.summary());
  }

  private payload(): Record<string, string | number> {
    return { sent: this.sent, failed: this.failed, rate: this.rate() };
  }
}
