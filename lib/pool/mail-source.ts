import { type ObservableInput, isObservable } from 'rxjs';
import type { Mail } from '../mail/mail';
import { MailQueue } from '../send/mail-queue';

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
  /** An Observable or a Promise: buffered as it pushes, by the same queue a session's sendAll uses. */
  private queue: MailQueue | undefined;
  private ended = false;
  /** One pull at a time: an async iterator must not be asked again before it answered. */
  private line: Promise<unknown> = Promise.resolve();

  constructor(input: ObservableInput<Mail>) {
    if (!isObservable(input) && typeof input === 'object' && input !== null && Symbol.asyncIterator in input) {
      this.iterator = (input as AsyncIterable<Mail>)[Symbol.asyncIterator]();
    } else if (!isObservable(input) && typeof input === 'object' && input !== null && Symbol.iterator in input) {
      this.iterator = (input as Iterable<Mail>)[Symbol.iterator]();
    } else {
      this.queue = new MailQueue(input);
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
    this.queue?.close();
    const iterator = this.iterator;
    this.iterator = undefined;
    if (iterator?.return !== undefined) void Promise.resolve(iterator.return()).catch(() => undefined);
  }

  private async pullNow(): Promise<Pulled> {
    if (this.queue !== undefined) {
      const mail = await this.queue.take();
      return mail === undefined ? { done: true } : { mail };
    }
    if (this.iterator === undefined || this.ended) return { done: true };
    const step = await this.iterator.next();
    if (step.done === true) {
      this.ended = true;
      this.iterator = undefined;
      return { done: true };
    }
    return { mail: step.value };
  }
}
