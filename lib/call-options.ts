import type { CallHooks } from './send/context';

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
