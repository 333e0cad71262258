import { SmtpError } from '../errors';
import type { MailRef, SendOutcome } from '../mail/mail';
import { SendAllError } from '../send/send-all-error';
import { type FailureKind, classifyFailure } from './classify';

/**
 * What the pool says of each mail: a {@link SendOutcome} whose failures also say how they failed
 * (see {@link FailureKind}), so that a caller can retry the transient ones and look into the
 * uncertain ones. The mail and its position are where a session's outcome has them.
 *
 * @example
 * ```ts
 * pool.sendAll(mails).subscribe((o: PoolOutcome) => console.log(o.index, o.ok ? 'sent' : `${o.failure}: ${o.error.code}`));
 * ```
 */
export type PoolOutcome = SendOutcome &
  (
    | {
        /** The server accepted the message. */
        ok: true;
      }
    | {
        /** The message was not delivered, or may not have been (`failure: 'uncertain'`). */
        ok: false;
        /** Permanent, transient or uncertain. */
        failure: FailureKind;
      }
  );

/**
 * A failed outcome, classified from its error.
 *
 * @example
 * ```ts
 * failed({ index: 3, mail }, error); // { ok: false, index: 3, mail, error, failure: 'transient' }
 * ```
 */
export function failed(ref: MailRef, error: unknown): PoolOutcome {
  const smtpError = error instanceof SmtpError ? error : new SmtpError('EIO', String(error), { cause: error });
  return { ok: false, index: ref.index, mail: ref.mail, error: smtpError, failure: classifyFailure(smtpError) };
}

/**
 * The outcome of a mail whose end of data was sent when its connection died, before the reply. Its
 * error is a {@link SendAllError} with the mail in `uncertain`, as a session's own would be, so that
 * `pool.send` callers (and {@link classifyFailure}) can tell it from a mail that was never sent.
 *
 * @example
 * ```ts
 * uncertain({ index: 0, mail }, shutdownError).failure; // 'uncertain'
 * ```
 */
export function uncertain(ref: MailRef, cause: SmtpError): PoolOutcome {
  const unknown = new SmtpError(cause.code, `outcome unknown: the end of data was sent but no reply came (${cause.message})`, { cause });
  const error = new SendAllError(unknown, { delivered: [], uncertain: [{ index: ref.index, mail: ref.mail }], notSent: [] });
  return { ok: false, index: ref.index, mail: ref.mail, error, failure: 'uncertain' };
}
