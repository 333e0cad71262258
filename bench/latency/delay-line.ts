/**
 * What a delay line hands on: a chunk of bytes, or `null` for the end of the stream.
 *
 * @example
 * ```ts
 * const deliver = (item: Delayed): void => (item === null ? socket.end() : void socket.write(item));
 * ```
 */
export type Delayed = Buffer | null;

/** One queued item and the moment it is due, on the clock of `performance.now()`. */
interface Slot {
  due: number;
  item: Delayed;
}

/**
 * One direction of a link with a fixed one-way delay: every item pushed in comes out `delayMs`
 * after it went in, in the order it went in (a later item is never due before an earlier one).
 * One timer at a time, for the oldest item; items due together come out in one go.
 *
 * @example
 * ```ts
 * const line = new DelayLine(5, (chunk) => (chunk === null ? upstream.end() : upstream.write(chunk)));
 * client.on('data', (chunk) => line.push(chunk));
 * client.on('end', () => line.push(null));
 * ```
 */
export class DelayLine {
  private readonly queue: Slot[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly deliver: (item: Delayed) => void,
  ) {}

  /** Items waiting to come out. */
  get length(): number {
    return this.queue.length;
  }

  push(item: Delayed): void {
    this.queue.push({ due: performance.now() + this.delayMs, item });
    if (this.timer === undefined) this.schedule();
  }

  /** Drops what is queued and stops the timer (the link went down). */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }

  private schedule(): void {
    // Node's timers count whole milliseconds; rounding up means the oldest item is due when it fires.
    const wait = Math.max(0, Math.ceil(this.queue[0]!.due - performance.now()));
    this.timer = setTimeout(() => this.release(), wait);
  }

  private release(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= now) this.deliver(this.queue.shift()!.item);
    if (this.queue.length > 0) this.schedule();
  }
}
