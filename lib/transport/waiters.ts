import type { SmtpReply } from '../reply/reply';
import type { ChunkWatcher } from './socket-events';

/**
 * Where the replies to a request go: the request's subscriber, or a collector gathering a group's
 * replies into one array (see `Connection.exchange`).
 *
 * @example
 * ```ts
 * const sink: ReplySink = subscriber; // an RxJS Subscriber is one
 * ```
 */
export interface ReplySink {
  next(reply: SmtpReply): void;
  error(err: unknown): void;
  complete(): void;
}

/**
 * A command written (or the greeting expected) whose reply has not come yet, and who gets it.
 *
 * @example
 * ```ts
 * const waiter: Waiter = { command: 'NOOP', to: subscriber, redactReply: false, last: false, final: true };
 * ```
 */
export interface Waiter {
  /** The command as errors may show it (redacted), or undefined for the greeting. */
  readonly command: string | undefined;
  /** The request this reply belongs to. */
  readonly to: ReplySink;
  /** Show the reply as `[redacted]` in the transcript (AUTH challenges). */
  readonly redactReply: boolean;
  /** The reply ends the plain-text part of the connection (the 220 to STARTTLS). */
  readonly last: boolean;
  /** The last reply `to` waits for: it completes after this one. */
  readonly final: boolean;
}

/**
 * How many of the waiting commands the bytes being parsed may answer: those written before the
 * chunk arrived. The {@link WaiterQueue} is its own: it sets `owed` as each chunk comes in, before it is parsed.
 */
export interface ReplyBudget {
  owed: number;
}

/** Answered slots at the front worth copying the rest to drop them (a CHUNKING window holds hundreds). */
const COMPACT_AFTER = 256;

/**
 * The commands waiting for replies, oldest first. Replies answer them strictly in order (RFC 5321
 * 4.1.1, RFC 2920 3.1); a first-in-first-out queue with a moving head, since a window of pipelined
 * mails may hold hundreds and `shift()` would move them all at every reply.
 *
 * @example
 * ```ts
 * queue.push(waiter);
 * const oldest = queue.shift();
 * ```
 */
export class WaiterQueue implements ReplyBudget, ChunkWatcher {
  private items: Waiter[] = [];
  private head = 0;
  /** The waiters the bytes being parsed may answer: those written before their chunk came ({@link ReplyBudget}). */
  owed = 0;

  /** A chunk came: its replies may answer the commands waiting now, not those their handling writes. */
  chunkArrived(): void {
    this.owed = this.length;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** The oldest waiter, if any. */
  get oldest(): Waiter | undefined {
    return this.items[this.head];
  }

  push(waiter: Waiter): void {
    this.items.push(waiter);
  }

  /** Takes the oldest waiter. */
  shift(): Waiter | undefined {
    const waiter = this.items[this.head];
    if (waiter === undefined) return undefined;
    this.items[this.head++] = undefined as unknown as Waiter;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return waiter;
  }

  /** Takes every waiter, oldest first. */
  drain(): Waiter[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}
