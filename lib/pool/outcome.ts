import { SendAllError, SmtpError } from '../errors';
import type { Mail, SendResult } from '../mail/mail';
import { type FailureKind, classifyFailure } from './classify';

/**
 * What the pool says of each mail: a {@link SendOutcome} whose failures also say how they failed
 * (see {@link FailureKind}), so that a caller can retry the transient ones and look into the
 * uncertain ones.
 *
 * @example
 * ```ts
 * pool.sendAll(mails).subscribe((o: PoolOutcome) => console.log(o.ok ? 'sent' : `${o.failure}: ${o.error.code}`));
 * ```
 */
export type PoolOutcome =
  | {
      /** The server accepted the message. */
      ok: true;
      /** What the server said to it. */
      result: SendResult;
    }
  | {
      /** The message was not delivered, or may not have been (`failure: 'uncertain'`). */
      ok: false;
      /** The mail that failed. */
      mail: Mail;
      /** Why. */
      error: SmtpError;
      /** Permanent, transient or uncertain. */
      failure: FailureKind;
    };

/** A failed outcome, classified from its error. */
export function failed(mail: Mail, error: unknown): PoolOutcome {
  const smtpError = error instanceof SmtpError ? error : new SmtpError('EIO', String(error), { cause: error });
  return { ok: false, mail, error: smtpError, failure: classifyFailure(smtpError) };
}

/**
 * The outcome of a mail whose end of data was sent when its connection died, before the reply. Its
 * error is a {@link SendAllError} with the mail in `uncertain`, as the session's own would be, so
 * `pool.send` callers (and {@link classifyFailure}) can tell it from a mail that was never sent.
 */
export function uncertain(mail: Mail, cause: SmtpError): PoolOutcome {
  const unknown = new SmtpError(cause.code, `outcome unknown: the end of data was sent but no reply came (${cause.message})`, { cause });
  const error = new SendAllError(unknown, { delivered: [], uncertain: [mail], notSent: [] });
  return { ok: false, mail, error, failure: 'uncertain' };
}
