import { AsyncSubject, type Subscriber } from 'rxjs';
import { SmtpError, asSmtpError } from '../errors';
import type { MailRef, SendOutcome } from '../mail/mail';
import type { CallHooks } from '../call-options';
import { IndexSet } from './index-set';
import type { MailInput, Polled } from './mail-input';
import { SendAllError } from './send-all-error';
import { type Fate, MailTask, type TaskOwner } from './task';

export type { Fate } from './task';

/**
 * The books of one `sendAll` call: it numbers the mails it takes from the call's input, emits each
 * one's outcome in input order (a mail refused at once waits for the ones before it), and when the
 * call ends early accounts for every mail without an outcome in a {@link SendAllError}: `uncertain`
 * when its end of data left, `notSent` otherwise — or a failed outcome (`EIO`) when it was a
 * streamed body already read in part, which cannot be sent again.
 *
 * It holds only the mails in flight and the positions of the delivered ones (as runs), so a call of
 * any length runs in constant memory.
 *
 * @example
 * ```ts
 * const ledger = new CallLedger(new MailInput(mails), subscriber);
 * const task = ledger.take(); // a MailTask, 'wait' or 'done'
 * ```
 */
export class CallLedger implements TaskOwner {
  /** The caller unsubscribed or aborted: nothing more is emitted, and what can be held back is. */
  cancelled = false;
  /** Emits (and completes) when the caller gives up on the call: a body being written stops at once. */
  readonly cancelled$ = new AsyncSubject<void>();
  private nextToEmit = 0;
  /** Outcomes known before those of earlier mails, by position. */
  private readonly held = new Map<number, SendOutcome>();
  /** Mails taken from the input whose fate is not known, by position. */
  private readonly open = new Map<number, MailTask>();
  private readonly delivered = new IndexSet();
  private inputDone = false;
  private inputFailure: { failed: unknown } | undefined;
  private ended = false;

  constructor(
    private readonly input: MailInput,
    private readonly out: Subscriber<SendOutcome>,
    /** What the caller asked of each mail on the way. */
    readonly hooks: CallHooks = {},
    /** Called once when the call has ended, whichever way. */
    private readonly onEnd: () => void = () => {},
  ) {}

  /** Emits when the input may have more for a `take()` that said 'wait'. */
  get changed$(): MailInput['changed$'] {
    return this.input.changed$;
  }

  /** True once the call has ended: completed, errored or cancelled. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** True when every mail the input will give has been taken (the call may still wait for fates). */
  get drained(): boolean {
    return this.inputDone || this.ended;
  }

  /** The next mail of the input as a task, 'wait' when none is here yet, 'done' when the input is spent. */
  take(): MailTask | 'wait' | 'done' {
    if (this.drained) return 'done';
    const polled = this.input.poll();
    if (polled === 'wait') return 'wait';
    if (polled === 'done' || 'failed' in polled) {
      this.noteEnd(polled);
      this.endIfFinished();
      return 'done';
    }
    const task = new MailTask(this, polled.index, polled.mail);
    this.open.set(task.index, task);
    return task;
  }

  /** A mail's fate: emitted now if every mail before it has its own, else when they do. */
  settle(task: MailTask, fate: Fate): void {
    if (!this.open.delete(task.index) || this.ended) return;
    const { index, mail } = task;
    if (fate.ok) this.delivered.add(index);
    const outcome: SendOutcome = fate.ok
      ? { ok: true, index, mail, result: fate.result }
      : fate.rejected === undefined
        ? { ok: false, index, mail, error: fate.error }
        : { ok: false, index, mail, error: fate.error, rejected: fate.rejected };
    // The usual case, in order: out at once, without going through `held`.
    if (index === this.nextToEmit && this.held.size === 0) this.emit(outcome);
    else {
      this.held.set(index, outcome);
      this.release();
    }
    this.endIfFinished();
  }

  /**
   * The call ends before every mail has its fate (the session failed, was disposed, the caller
   * aborted): outcomes already known are emitted, then `error` as a {@link SendAllError} accounting
   * for every other mail. Idempotent.
   */
  end(error: SmtpError): void {
    if (this.ended) return;
    const uncertain: MailRef[] = [];
    const notSent: MailRef[] = [];
    for (const task of this.open.values()) {
      const left = task.stage === 'sent' && task.endOfDataLeft();
      task.stage = 'settled';
      if (left) uncertain.push({ index: task.index, mail: task.mail });
      else if (!task.bodyConsumed) notSent.push({ index: task.index, mail: task.mail });
      else {
        const cause = new SmtpError('EIO', `the message body was read in part before the session ended (${error.message}); it cannot be read again`, { cause: error });
        this.held.set(task.index, { ok: false, index: task.index, mail: task.mail, error: cause });
      }
    }
    this.open.clear();
    notSent.push(...this.input.close());
    for (const index of [...this.held.keys()].sort((a, b) => a - b)) this.emit(this.held.get(index)!);
    this.held.clear();
    this.finish(() => this.out.error(new SendAllError(error, { delivered: this.delivered.toArray(), uncertain, notSent })));
  }

  /**
   * The caller's signal aborted: the call ends now with `error` (an `ECANCELED`) accounting for
   * every mail as {@link end} does, and every mail whose end of data has not left is held back.
   */
  abort(error: SmtpError): void {
    this.end(error);
    this.cancelled = true;
    this.cancelled$.next();
    this.cancelled$.complete();
  }

  /** The caller unsubscribed: the input is closed, nothing more is emitted. */
  cancel(): void {
    if (this.ended) return;
    this.cancelled = true;
    this.input.close();
    this.cancelled$.next();
    this.cancelled$.complete();
    this.finish(() => undefined);
  }

  /** The input has ended, well or with an error. */
  private noteEnd(polled: Polled): void {
    if (polled !== 'done' && (polled === 'wait' || !('failed' in polled))) return;
    this.inputDone = true;
    if (polled !== 'done') this.inputFailure = polled;
  }

  private release(): void {
    for (let outcome = this.held.get(this.nextToEmit); outcome !== undefined; outcome = this.held.get(this.nextToEmit)) {
      this.held.delete(this.nextToEmit);
      this.emit(outcome);
    }
  }

  private emit(outcome: SendOutcome): void {
    this.nextToEmit = outcome.index + 1;
    if (!this.cancelled) this.out.next(outcome);
  }

  private endIfFinished(): void {
    // An input known to be spent (an array read to its end) is asked now how it ended, not when the sender next looks.
    if (!this.inputDone && this.input.remaining === 0) this.noteEnd(this.input.poll());
    if (!this.inputDone || this.open.size > 0 || this.held.size > 0 || this.ended) return;
    const failure = this.inputFailure;
    if (failure === undefined) {
      this.finish(() => this.out.complete());
      return;
    }
    const error = new SmtpError('EIO', `the mail input failed (${asSmtpError(failure.failed).message}); every mail it gave before failing has its outcome`, { cause: failure.failed });
    this.finish(() => this.out.error(new SendAllError(error, { delivered: this.delivered.toArray(), uncertain: [], notSent: [] })));
  }

  private finish(notify: () => void): void {
    this.ended = true;
    this.onEnd();
    notify();
  }
}
