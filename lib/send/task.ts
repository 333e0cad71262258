import type { AsyncSubject } from 'rxjs';
import type { SmtpError } from '../errors';
import type { Envelope } from '../mail/envelope';
import type { Mail, SendResult } from '../mail/mail';
import type { CallHooks } from '../call-options';

/** A mail's fate as the sender learns it; the ledger adds the mail and its position. */
export type Fate = { ok: true; result: SendResult } | { ok: false; error: SmtpError; rejected?: SendResult['rejected'] };

/**
 * What a task needs of the call it belongs to (its ledger): whether the caller gave up, what it
 * asked of each mail, and where the mail's fate goes.
 *
 * @example
 * ```ts
 * const owner: TaskOwner = ledger;
 * ```
 */
export interface TaskOwner {
  readonly cancelled: boolean;
  readonly cancelled$: AsyncSubject<void>;
  readonly hooks: CallHooks;
  settle(task: MailTask, fate: Fate): void;
}

/**
 * Where a mail stands on the wire, which decides its fate if the connection dies now:
 * - `queued`: nothing of it written;
 * - `envelope`: MAIL (and RCPT, perhaps DATA or BDAT chunks) written, its end of data not: not sent;
 * - `sent`: its end of data (`.` or `BDAT LAST`) written, its final reply not read: uncertain;
 * - `settled`: its fate is known.
 */
export type Stage = 'queued' | 'envelope' | 'sent' | 'settled';

/**
 * One mail on its way through a session: its position in its call's input, where it stands, and
 * the ledger of that call, which its fate goes to.
 *
 * @example
 * ```ts
 * const task = new MailTask(ledger, { index: 0, mail });
 * task.stage = 'sent';
 * task.settle({ ok: true, result });
 * ```
 */
export class MailTask {
  stage: Stage = 'queued';
  /** Set by the sender once the mail is checked against the server's extensions. */
  envelope: Envelope | undefined;
  /** Whether the end of data, once written, actually left (it may be dropped with a batch the connection never let go). */
  endOfDataLeft: () => boolean = () => true;
  /** Bytes of a one-shot (streamed) body have been read: it can never be sent again. */
  bodyConsumed = false;
  /** Its envelope was refused for having been pipelined behind an end of data, and it is being sent again. */
  resent = false;

  constructor(
    readonly ledger: TaskOwner,
    readonly index: number,
    readonly mail: Mail,
  ) {}

  /** The caller gave up on this mail (unsubscribed, aborted): send nothing more of it that can be held back. */
  get cancelled(): boolean {
    return this.ledger.cancelled;
  }

  /** Its fate is known: to the ledger, which emits it in input order. */
  settle(fate: Fate): void {
    if (this.stage === 'settled') return;
    this.stage = 'settled';
    this.ledger.settle(this, fate);
  }
}
