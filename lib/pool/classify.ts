import { SmtpError } from '../errors';

/**
 * How a failed message failed, for deciding what to do with it:
 * - `permanent`: the server refused it for good (5xx), or it can never be sent as it is (a bad
 *   address, too large, an extension the server lacks): do not retry unchanged.
 * - `transient`: a 4xx (greylisting's 450/451 4.7.x included), or the connection failed before its
 *   end of data was sent: retrying later may work.
 * - `uncertain`: its end of data was sent and the reply never came: it may have been delivered, so
 *   retrying may send it twice; the caller decides.
 */
export type FailureKind = 'permanent' | 'transient' | 'uncertain';

/** Codes of mails that cannot succeed as they are, whatever the server's mood. */
const PERMANENT_CODES = new Set(['ESERVERPERM', 'EINVAL', 'EMSGSIZE', 'ENOTSUP', 'EPROTO']);

/**
 * Classifies the error of a failed send by its reply class (and enhanced status code), or by its
 * code when there was no reply. An `uncertain` outcome is known only to whoever saw the end of data
 * leave: the pool says so in its outcomes; this function never answers it.
 *
 * @example
 * ```ts
 * pool.sendAll(mails).pipe(filter((o) => !o.ok && classifyFailure(o.error) === 'transient'));
 * ```
 */
export function classifyFailure(error: unknown): Exclude<FailureKind, 'uncertain'> {
  if (!(error instanceof SmtpError)) return 'transient';
  const reply = error.reply;
  if (reply !== undefined) {
    const cls = reply.enhanced?.class ?? Math.floor(reply.code / 100);
    if (cls === 4) return 'transient';
    if (cls === 5) return 'permanent';
  }
  return PERMANENT_CODES.has(error.code) ? 'permanent' : 'transient';
}
