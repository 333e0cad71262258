import { SmtpError } from '../errors';
import type { MailRef } from '../mail/mail';

/**
 * What a `sendAll` (or `send`) says of every mail it was given when it ends before all of them
 * have their outcome: the session failed (`ESHUTDOWN`, `ETIMEDOUT`, `ESERVERSYNC`, a socket error...),
 * was disposed (`EINVAL`), its signal aborted the call (`ECANCELED`), or the mail input failed
 * (`EIO`). Each mail of the input is in exactly one place: emitted as an outcome before the error
 * (the positions of the delivered ones are repeated in `delivered`), or in `uncertain` or `notSent`.
 *
 * It keeps positions, not results or bodies, so that a long `sendAll` runs in constant memory.
 *
 * @example
 * ```ts
 * session.sendAll(mails).subscribe({
 *   error: (err) => {
 *     if (err instanceof SendAllError) retry(err.notSent.map((ref) => ref.mail));
 *   },
 * });
 * ```
 */
export class SendAllError extends SmtpError {
  /** Positions (in the call's input) of the mails the server accepted; each was emitted as an outcome. */
  readonly delivered: readonly number[];
  /** Mails whose end of data was sent but whose final reply never came: they may have been delivered. */
  readonly uncertain: readonly MailRef[];
  /**
   * Mails whose end of data never left, even if their MAIL and RCPT did: safe to send again. A
   * streamed body that was read in part is never here (it cannot be read again): such a mail gets a
   * failed outcome (`EIO`) instead.
   */
  readonly notSent: readonly MailRef[];

  constructor(
    cause: SmtpError,
    accounts: {
      delivered: readonly number[];
      uncertain: readonly MailRef[];
      notSent: readonly MailRef[];
    },
  ) {
    super(
      cause.code,
      `${cause.message} (delivered ${accounts.delivered.length}, uncertain ${accounts.uncertain.length}, not sent ${accounts.notSent.length})`,
      { cause, ...(cause.reply && { reply: cause.reply }), ...(cause.command !== undefined && { command: cause.command }) },
    );
    this.name = 'SendAllError';
    this.delivered = accounts.delivered;
    this.uncertain = accounts.uncertain;
    this.notSent = accounts.notSent;
  }
}
