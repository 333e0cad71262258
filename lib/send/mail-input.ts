import { type ObservableInput, Subject, type Subscription, from, isObservable } from 'rxjs';
import { SmtpError, asSmtpError } from '../errors';
import type { Mail, MailRef } from '../mail/mail';

/** What {@link MailInput.poll} finds: the next mail, nothing yet, the end, or the input's own error. */
export type Polled = MailRef | 'wait' | 'done' | { failed: unknown };

/** Pulled mails at the front of the buffer worth copying the rest to drop them. */
const COMPACT_AFTER = 1024;

/**
 * The input of a `sendAll`, read on demand and numbered. RxJS has no pull: an Observable pushes as
 * fast as it likes, and `from(generator)` would run a lazy input of a million mails to its end at
 * once. So an array is read by position (never copied), an iterable or async iterable (a generator,
 * a database cursor) one mail per `poll()`, which the sender calls only when it has room: that is the
 * backpressure. An Observable or a Promise is buffered as it pushes; that is all it allows.
 *
 * @example
 * ```ts
 * const input = new MailInput(mails);
 * const next = input.poll(); // { index: 0, mail } | 'wait' | 'done' | { failed }
 * input.changed$.subscribe(() => pollAgain());
 * ```
 */
export class MailInput {
  /** Emits when a `poll()` that said 'wait' may now find something (a mail, the end, an error). */
  readonly changed$ = new Subject<void>();
  private position = 0;
  private array: readonly Mail[] | undefined;
  private iterator: Iterator<Mail> | AsyncIterator<Mail> | undefined;
  private readonly async: boolean;
  private pulling = false;
  /** Mails pushed (an Observable) or pulled ahead (an async iterator) and not yet polled: `buffered[head..]`. */
  private buffered: Mail[] = [];
  private head = 0;
  private ended = false;
  private failure: { failed: unknown } | undefined;
  private subscription: Subscription | undefined;

  constructor(input: ObservableInput<Mail>) {
    const object = typeof input === 'object' && input !== null && !isObservable(input);
    this.async = object && Symbol.asyncIterator in input;
    if (Array.isArray(input)) this.array = input;
    else if (this.async) this.iterator = (input as AsyncIterable<Mail>)[Symbol.asyncIterator]();
    else if (object && Symbol.iterator in input) this.iterator = (input as Iterable<Mail>)[Symbol.iterator]();
    else this.subscribe(input);
  }

  /** How many mails may still come: exact for an array or an ended push input, else Infinity. */
  get remaining(): number {
    if (this.array !== undefined) return this.array.length - this.position;
    const buffered = this.buffered.length - this.head;
    return this.ended || this.failure !== undefined ? buffered : Infinity;
  }

  /**
   * How many mails to plan connections for: exact for an array or an ended input; for a lazy one
   * (a generator, an async iterable, an Observable still pushing), what it holds now and one more,
   * since whether it has another is known only once it is read.
   */
  get expected(): number {
    if (this.array !== undefined) return this.array.length - this.position;
    const buffered = this.buffered.length - this.head;
    return this.ended || this.failure !== undefined ? buffered : buffered + 1;
  }

  /** The next mail if it is here now; 'wait' until `changed$` says to look again. Never waits. */
  poll(): Polled {
    if (this.array !== undefined) return this.position < this.array.length ? this.ref(this.array[this.position]!) : 'done';
    if (this.head < this.buffered.length) return this.ref(this.shift());
    if (this.failure !== undefined) return this.failure;
    if (this.ended) return 'done';
    if (this.iterator === undefined) return 'wait';
    if (!this.async) return this.pullSync(this.iterator as Iterator<Mail>);
    this.pullAsync(this.iterator as AsyncIterator<Mail>);
    return 'wait';
  }

  /**
   * Stops reading (an iterator is told to return, so a generator's `finally` runs; a subscription
   * ends) and gives the mails taken from the input but not polled: the rest of an array, what an
   * Observable pushed. A lazy input keeps what was never read.
   */
  close(): MailRef[] {
    const rest: MailRef[] = [];
    if (this.array !== undefined) {
      while (this.position < this.array.length) rest.push(this.ref(this.array[this.position]!));
    }
    while (this.head < this.buffered.length) rest.push(this.ref(this.shift()));
    this.array = undefined;
    this.ended = true;
    this.subscription?.unsubscribe();
    const iterator = this.iterator;
    this.iterator = undefined;
    if (iterator?.return !== undefined) void Promise.resolve(iterator.return()).catch(() => undefined);
    return rest;
  }

  private ref(mail: Mail): MailRef {
    return { index: this.position++, mail };
  }

  private shift(): Mail {
    const mail = this.buffered[this.head]!;
    // The slot is cleared so that a sent mail (and its body) can be collected before the input ends.
    this.buffered[this.head++] = undefined as unknown as Mail;
    if (this.head === this.buffered.length) {
      this.buffered = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.buffered.length) {
      this.buffered = this.buffered.slice(this.head);
      this.head = 0;
    }
    return mail;
  }

  private pullSync(iterator: Iterator<Mail>): Polled {
    try {
      const step = iterator.next();
      if (step.done !== true) return this.ref(step.value);
      this.ended = true;
      return 'done';
    } catch (failed) {
      this.failure = { failed };
      return this.failure;
    }
  }

  /** One pull at a time: an async iterator must not be asked again before it answered. */
  private pullAsync(iterator: AsyncIterator<Mail>): void {
    if (this.pulling) return;
    this.pulling = true;
    Promise.resolve()
      .then(() => iterator.next())
      .then(
        (step) => {
          if (step.done === true) this.ended = true;
          else this.buffered.push(step.value);
        },
        (failed: unknown) => (this.failure = { failed }),
      )
      .finally(() => {
        this.pulling = false;
        this.changed$.next();
      });
  }

  private subscribe(input: ObservableInput<Mail>): void {
    this.subscription = from(input).subscribe({
      next: (mail) => {
        this.buffered.push(mail);
        this.changed$.next();
      },
      error: (failed: unknown) => {
        this.failure = { failed };
        this.changed$.next();
      },
      complete: () => {
        this.ended = true;
        this.changed$.next();
      },
    });
  }
}

/**
 * The input of a `sendAll` (session or pool), or the `EINVAL` that says why `mails` is not one: the
 * caller reports it as its call's error.
 *
 * @example
 * ```ts
 * const input = mailInputOf(mails);
 * if (input instanceof SmtpError) return subscriber.error(input);
 * ```
 */
export function mailInputOf(mails: ObservableInput<Mail>): MailInput | SmtpError {
  try {
    return new MailInput(mails);
  } catch (err) {
    return new SmtpError('EINVAL', `sendAll needs an array, an iterable or an Observable of mails: ${asSmtpError(err).message}`);
  }
}
