import type { Subscriber } from 'rxjs';
import { SmtpError, asSmtpError } from '../errors';
import type { MailRef } from '../mail/mail';
import type { CallHooks } from '../call-options';
import { IndexSet } from '../send/index-set';
import type { MailInput, Polled } from '../send/mail-input';
import { SendAllError } from '../send/send-all-error';
import type { PoolOutcome } from './outcome';

/** One mail on its way through the pool: its position in its call's input, and that call. */
export interface Job extends MailRef {
  readonly batch: Batch;
  /** Connections this mail was given to that died before its end of data was sent. */
  attempts: number;
}

/**
 * The mails of one `pool.sendAll` call: its input, read only as connections have room, and its
 * books. Outcomes go out in completion order. When the call ends early (its signal, the pool's) it
 * errors with a {@link SendAllError} in which every mail without an outcome is `uncertain` or
 * `notSent`; the mails on a connection are cancelled through the batch's own signal, so that each
 * connection says at once whether that mail's end of data had left.
 *
 * @example
 * ```ts
 * const batch = new Batch(new MailInput(mails), subscriber, {}, () => dispatcher.remove(batch));
 * const job = batch.take(); // a Job, 'wait' or 'done'
 * ```
 */
export class Batch {
  /** Aborted when the call ends early: every mail of it on a connection is cancelled at once. */
  readonly controller = new AbortController();
  private readonly delivered = new IndexSet();
  /** Mails taken from the input and without an outcome. */
  private readonly open = new Map<number, Job>();
  private readonly uncertain: MailRef[] = [];
  private readonly notSent: MailRef[] = [];
  private inputDone = false;
  private inputFailure: { failed: unknown } | undefined;
  private ending: SmtpError | undefined;
  private ended = false;

  constructor(
    private readonly input: MailInput,
    private readonly out: Subscriber<PoolOutcome>,
    /** What the caller asked of each mail on the way. */
    readonly hooks: CallHooks,
    private readonly onEnd: () => void,
  ) {}

  /** Emits when the input may have more for a `take()` that said 'wait'. */
  get changed$(): MailInput['changed$'] {
    return this.input.changed$;
  }

  /** How many mails the input may still give: exact for an array, Infinity when unknown. */
  get remaining(): number {
    return this.inputDone || this.cancelled ? 0 : this.input.remaining;
  }

  /** How many mails to plan connections for (see {@link MailInput.expected}). */
  get expected(): number {
    return this.inputDone || this.cancelled ? 0 : this.input.expected;
  }

  /** True once the call is ending or has ended: nothing more is taken or sent. */
  get cancelled(): boolean {
    return this.ending !== undefined || this.ended;
  }

  /** The next mail of the input as a job, 'wait' when none is here yet, 'done' when there will be no more. */
  take(): Job | 'wait' | 'done' {
    if (this.inputDone || this.cancelled) return 'done';
    const polled = this.input.poll();
    if (polled === 'wait') return 'wait';
    if (polled === 'done' || 'failed' in polled) {
      this.noteEnd(polled);
      this.endIfDone();
      return 'done';
    }
    const job: Job = { index: polled.index, mail: polled.mail, batch: this, attempts: 0 };
    this.open.set(job.index, job);
    return job;
  }

  /** Ends the call at once if its input is known to be empty (`sendAll([])`). */
  endIfEmpty(): void {
    this.endIfDone();
  }

  /** A mail's one outcome. */
  settle(job: Job, outcome: PoolOutcome): void {
    if (!this.open.delete(job.index)) return;
    // While the call ends early, a mail that did not get to its end of data is listed, not told.
    const listed = this.ending !== undefined && !outcome.ok ? this.listFor(outcome) : undefined;
    if (listed !== undefined) listed.push({ index: job.index, mail: job.mail });
    else {
      if (outcome.ok) this.delivered.add(job.index);
      this.out.next(outcome);
    }
    this.endIfDone();
  }

  /** Which list of the ending call's SendAllError a failed outcome belongs in, if any. */
  private listFor(outcome: PoolOutcome & { ok: false }): MailRef[] | undefined {
    if (outcome.failure === 'uncertain') return this.uncertain;
    if (outcome.error instanceof SendAllError && outcome.error.notSent.length > 0) return this.notSent;
    return undefined;
  }

  /**
   * The call ends early with `error` (`ECANCELED`): its mails on connections are cancelled (each
   * settles at once as delivered, uncertain or not sent), the rest are not sent, and the caller
   * gets a {@link SendAllError} with all of it. Idempotent.
   */
  abort(error: SmtpError, queued: readonly Job[]): void {
    if (this.cancelled) return;
    this.ending = error;
    for (const job of queued) {
      this.open.delete(job.index);
      this.notSent.push({ index: job.index, mail: job.mail });
    }
    // Before the connections hear of it: their answers come at once and may end the call.
    this.notSent.push(...this.input.close());
    this.controller.abort(error);
    // Whatever could not be held back in time (an outcome still owed) is uncertain.
    for (const job of this.open.values()) this.uncertain.push({ index: job.index, mail: job.mail });
    this.open.clear();
    this.endIfDone();
  }

  /** The caller unsubscribed: its mails on connections are cancelled, nothing more is emitted. */
  cancel(): void {
    if (this.cancelled) return;
    this.ended = true;
    this.controller.abort(new SmtpError('ECANCELED', 'the caller unsubscribed'));
    this.input.close();
    this.onEnd();
  }

  /** The input has ended, well or with an error. */
  private noteEnd(polled: Polled): void {
    if (polled !== 'done' && (polled === 'wait' || !('failed' in polled))) return;
    this.inputDone = true;
    if (polled !== 'done') this.inputFailure = polled;
  }

  private endIfDone(): void {
    // An input known to be spent (an array read to its end) is asked now how it ended.
    if (!this.inputDone && !this.cancelled && this.input.remaining === 0) this.noteEnd(this.input.poll());
    if (this.ended || this.open.size > 0 || (this.ending === undefined && !this.inputDone)) return;
    this.ended = true;
    this.onEnd();
    const delivered = this.delivered.toArray();
    if (this.ending !== undefined) {
      const byIndex = (a: MailRef, b: MailRef): number => a.index - b.index;
      this.out.error(new SendAllError(this.ending, { delivered, uncertain: this.uncertain.sort(byIndex), notSent: this.notSent.sort(byIndex) }));
    } else if (this.inputFailure === undefined) {
      this.out.complete();
    } else {
      const error = new SmtpError('EIO', `the mail input failed (${asSmtpError(this.inputFailure.failed).message}); every mail it gave before failing has its outcome`, { cause: this.inputFailure.failed });
      this.out.error(new SendAllError(error, { delivered, uncertain: [], notSent: [] }));
    }
  }
}
