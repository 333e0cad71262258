import type { ObservableInput } from 'rxjs';
import type { Mail } from './mail/mail';

/** What a call may ask of each of its mails on the way. */
export interface CallHooks {
  /**
   * Awaited before anything of the mail is written: once it completes, the mail's end of data may
   * leave. When it errors, nothing of the mail is written and the mail fails (`EIO`, its error as
   * the cause). A durable queue marks the mail here, so that a crash after it means "uncertain".
   */
  beforeEndOfData?: (mail: Mail, index: number) => ObservableInput<unknown>;
}

/**
 * Per-call options of `send` and `sendAll`, on a session or a pool.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * session.sendAll(mails, { signal: controller.signal }).subscribe({ error: (e) => console.log(e.code) });
 * controller.abort(); // the call ends with ECANCELED, a SendAllError listing every mail's fate
 * ```
 */
export interface CallOptions extends CallHooks {
  /**
   * Aborting it ends the call at once with `ECANCELED` (a {@link SendAllError} that accounts for
   * every mail, as a session failure would), and every mail whose end of data has not left is held back.
   */
  signal?: AbortSignal;
}
