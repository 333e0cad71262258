import type { ObservableInput } from 'rxjs';
import { SmtpError } from '../errors';
import type { Mail } from '../mail/mail';
import type { PoolOutcome } from './outcome';
import { MailSource } from './mail-source';
import type { TokenBucket } from './token-bucket';

/** One mail on its way through the pool, with the `sendAll` it belongs to. */
export interface Job {
  readonly mail: Mail;
  readonly batch: Batch;
  /** Connections this mail was given to that died before its end of data was sent. */
  attempts: number;
}

/**
 * The mails of one `sendAll` call: its input, read on demand, and where its outcomes go. It ends
 * when its input has ended and every mail taken from it has its outcome.
 */
export class Batch {
  /** Mails taken from the input that have no outcome yet. */
  pending = 0;
  inputDone = false;
  cancelled = false;
  private inputError: unknown;
  private readonly source: MailSource;

  constructor(
    input: ObservableInput<Mail>,
    private readonly onOutcome: (outcome: PoolOutcome) => void,
    private readonly onEnd: (error?: SmtpError) => void,
  ) {
    this.source = new MailSource(input);
  }

  /** The next mail of the input as a job, or undefined once the input has ended (or failed). */
  async take(): Promise<Job | undefined> {
    if (this.inputDone || this.cancelled) return undefined;
    let pulled;
    try {
      pulled = await this.source.pull();
    } catch (error) {
      this.inputError ??= error;
      this.inputDone = true;
      this.endIfDone();
      return undefined;
    }
    if ('done' in pulled || this.cancelled) {
      this.inputDone = true;
      this.endIfDone();
      return undefined;
    }
    this.pending++;
    return { mail: pulled.mail, batch: this, attempts: 0 };
  }

  /** A mail's one outcome. */
  settle(outcome: PoolOutcome): void {
    this.pending--;
    if (!this.cancelled) this.onOutcome(outcome);
    this.endIfDone();
  }

  /** The pool was aborted: the caller gets `error` now; outcomes still due are dropped. */
  abort(error: SmtpError): void {
    if (this.cancelled) return;
    this.cancel();
    this.onEnd(error);
  }

  /** The caller unsubscribed: stop reading the input; outcomes still due are dropped. */
  cancel(): void {
    this.cancelled = true;
    this.inputDone = true;
    this.source.close();
  }

  private endIfDone(): void {
    if (!this.inputDone || this.pending > 0 || this.cancelled) return;
    this.cancelled = true;
    this.source.close();
    if (this.inputError === undefined) this.onEnd();
    else this.onEnd(new SmtpError('EIO', 'the mail input failed; every mail it gave before failing has its outcome', { cause: this.inputError }));
  }
}

/**
 * Hands out jobs to connections that have room: mails to send again first (their connection died
 * before their end of data), then each `sendAll`'s input in turn. Nothing is read from an input
 * before a connection asks, so an input of a million mails stays where it is.
 */
export class Dispatcher {
  private readonly retries: Job[] = [];
  private readonly batches: Batch[] = [];
  private turn = 0;
  /** Bumped whenever work may have arrived, so an idle connection that looked just before can tell. */
  version = 0;

  constructor(private readonly bucket: TokenBucket | undefined) {}

  get queued(): number {
    return this.retries.length;
  }

  get hasBatches(): boolean {
    return this.batches.length > 0;
  }

  add(batch: Batch): void {
    this.batches.push(batch);
    this.version++;
  }

  remove(batch: Batch): void {
    const i = this.batches.indexOf(batch);
    if (i >= 0) this.batches.splice(i, 1);
  }

  /** Ends every `sendAll` with `error` (the pool was aborted). */
  abortAll(error: SmtpError): void {
    for (const batch of [...this.batches]) batch.abort(error);
    this.batches.length = 0;
  }

  /** A job whose connection died before its end of data left: first in line for the next connection. */
  retry(job: Job): void {
    this.retries.push(job);
    this.version++;
  }

  /** The next job, once the rate limit lets it go; undefined when there is no work at all. */
  async next(): Promise<Job | undefined> {
    const job = await this.nextJob();
    if (job !== undefined && this.bucket !== undefined) await this.bucket.take();
    return job;
  }

  private async nextJob(): Promise<Job | undefined> {
    for (;;) {
      const retry = this.retries.shift();
      if (retry === undefined) break;
      if (!retry.batch.cancelled) return retry;
      retry.batch.pending--;
    }
    // Round robin, so that one endless input does not starve the calls made after it.
    for (let tried = 0; tried < this.batches.length; tried++) {
      const batch = this.batches[this.turn++ % this.batches.length];
      if (batch === undefined) break;
      const job = await batch.take();
      if (job !== undefined) return job;
      if (this.retries.length > 0) return this.nextJob();
    }
    return undefined;
  }
}
