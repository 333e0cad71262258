import { type ObservableInput, type Subscription, from } from 'rxjs';
import type { Mail } from '../mail/mail';

/** Cleared slots at the front of the queue's array worth copying the rest to drop them. */
const COMPACT_AFTER = 1024;

/**
 * The mails of a `sendAll`, taken from the caller's input as they come. The transfer takes them
 * one by one, and can see without waiting whether the next one is already here (to pipeline it
 * behind the previous end of data).
 */
export class MailQueue {
  /** Mails taken from the input and not yet handed out: `buffered[head..]`. */
  private buffered: (Mail | undefined)[] = [];
  /**
   * Where the next mail is in `buffered`. An index, not `shift()`: shifting a large array (a
   * `sendAll` of an array of 20,000 mails arrives all at once) moves every element each time.
   */
  private head = 0;
  private done = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;
  private readonly subscription: Subscription;

  constructor(input: ObservableInput<Mail>) {
    this.subscription = from(input).subscribe({
      next: (mail) => {
        this.buffered.push(mail);
        this.notify();
      },
      error: (error: unknown) => {
        this.failure = { error };
        this.notify();
      },
      complete: () => {
        this.done = true;
        this.notify();
      },
    });
  }

  /** The next mail if it is already here, without waiting. */
  poll(): Mail | undefined {
    if (this.head === this.buffered.length) return undefined;
    const mail = this.buffered[this.head];
    // The slot is cleared so that a sent mail (and its body) can be collected before the batch ends.
    this.buffered[this.head] = undefined;
    this.head++;
    if (this.head === this.buffered.length) {
      this.buffered = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.buffered.length) {
      // An input that stays ahead of the sending never empties the array: drop the used half.
      this.buffered = this.buffered.slice(this.head);
      this.head = 0;
    }
    return mail;
  }

  /** Whether a mail is already here, without taking it. */
  hasNext(): boolean {
    return this.head < this.buffered.length;
  }

  /** The next mail, waiting for it; undefined when the input has completed. Rejects with the input's error. */
  async take(): Promise<Mail | undefined> {
    for (;;) {
      const mail = this.poll();
      if (mail !== undefined) return mail;
      if (this.failure !== undefined) throw this.failure.error;
      if (this.done || this.subscription.closed) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Stops taking from the input and returns what was taken but not yet handed out. */
  close(): Mail[] {
    this.subscription.unsubscribe();
    this.done = true;
    this.notify();
    const rest = this.buffered.slice(this.head) as Mail[];
    this.buffered = [];
    this.head = 0;
    return rest;
  }

  private notify(): void {
    this.wake?.();
    this.wake = undefined;
  }
}
