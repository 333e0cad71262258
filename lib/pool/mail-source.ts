import { type ObservableInput, type Subscription, from, isObservable } from 'rxjs';
import type { Mail } from '../mail/mail';

/** The next mail, or the end of the input. */
export type Pulled = { mail: Mail } | { done: true };

/**
 * A `sendAll` input read on demand. RxJS has no pull: an Observable pushes as fast as it likes, and
 * `from(generator)` would run a lazy input of a million mails to its end at once. So an iterable or
 * async iterable (an array, a generator, a database cursor) is read one mail per `pull()`, which the pool calls
 * only when a connection has room: that is the backpressure. An Observable or a Promise is buffered
 * as it pushes; that is all an Observable allows.
 *
 * @example
 * ```ts
 * const source = new MailSource(function* () { for (;;) yield nextMail(); }());
 * const first = await source.pull();
 * ```
 */
export class MailSource {
  private iterator: Iterator<Mail> | AsyncIterator<Mail> | undefined;
  private readonly buffered: Mail[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;
  private subscription: Subscription | undefined;
  /** One pull at a time: an async iterator must not be asked again before it answered. */
  private line: Promise<unknown> = Promise.resolve();

  constructor(input: ObservableInput<Mail>) {
    if (!isObservable(input) && typeof input === 'object' && input !== null && Symbol.asyncIterator in input) {
      this.iterator = (input as AsyncIterable<Mail>)[Symbol.asyncIterator]();
    } else if (!isObservable(input) && typeof input === 'object' && input !== null && Symbol.iterator in input) {
      this.iterator = (input as Iterable<Mail>)[Symbol.iterator]();
    } else {
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
          this.ended = true;
          this.notify();
        },
      });
    }
  }

  /** The next mail, waiting for it; rejects with the input's own error. */
  pull(): Promise<Pulled> {
    const turn = this.line.then(() => this.pullNow());
    this.line = turn.catch(() => undefined);
    return turn;
  }

  /** Stops reading: an iterator is told to return (a generator's `finally` runs), a subscription ends. */
  close(): void {
    this.ended = true;
    this.subscription?.unsubscribe();
    const iterator = this.iterator;
    this.iterator = undefined;
    if (iterator?.return !== undefined) void Promise.resolve(iterator.return()).catch(() => undefined);
    this.buffered.length = 0;
    this.notify();
  }

  private async pullNow(): Promise<Pulled> {
    if (this.iterator !== undefined) {
      if (this.ended) return { done: true };
      const step = await this.iterator.next();
      if (step.done === true) {
        this.ended = true;
        this.iterator = undefined;
        return { done: true };
      }
      return { mail: step.value };
    }
    for (;;) {
      const mail = this.buffered.shift();
      if (mail !== undefined) return { mail };
      if (this.failure !== undefined) throw this.failure.error;
      if (this.ended) return { done: true };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    this.wake?.();
    this.wake = undefined;
  }
}
