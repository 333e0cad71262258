import { CERTIFICATE_ERROR_CODES } from '../error-codes';
import { SmtpError } from '../errors';
import { SendAllError } from '../send/send-all-error';

/**
 * How a failed message failed, for deciding what to do with it:
 * - `permanent`: the server refused it for good (5xx), or it can never be sent as it is (a bad
 *   address, too large, an extension the server lacks, a streamed body already read), or the
 *   caller aborted it before its end of data left (`ECANCELED`): do not retry unchanged.
 * - `transient`: a 4xx (greylisting's 450/451 4.7.x included), or the connection failed before its
 *   end of data was sent: retrying later may work.
 * - `uncertain`: its end of data was sent and the reply never came: it may have been delivered, so
 *   retrying may send it twice; the caller decides.
 */
export type FailureKind = 'permanent' | 'transient' | 'uncertain';

/**
 * Codes of mails that cannot succeed as they are, whatever the server's mood; ECANCELED, the
 * caller's own decision, which a retry loop must not overrule; and the certificate codes: a
 * certificate that fails now fails on every retry until someone changes it or the trust.
 */
const PERMANENT_CODES: ReadonlySet<string> = new Set([
  'ESERVERPERM',
  'EINVAL',
  'EMSGSIZE',
  'ENOTSUP',
  'EPROTO',
  'ECANCELED',
  'EIO',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  ...CERTIFICATE_ERROR_CODES,
]);

/**
 * Classifies the error of a failed send by its reply class (and enhanced status code), or by its
 * code when there was no reply. A {@link SendAllError} with a mail in `uncertain` (what
 * `session.send` and `pool.send` error with when the end of data left and no reply came) is
 * `uncertain`, so that a retry loop built on this function never sends such a mail twice.
 *
 * @example
 * ```ts
 * pool.sendAll(mails).pipe(filter((o) => !o.ok && classifyFailure(o.error) === 'transient'));
 * ```
 */
export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof SendAllError && error.uncertain.length > 0) return 'uncertain';
  if (!(error instanceof SmtpError)) return 'transient';
  const reply = error.reply;
  if (reply !== undefined) {
    const cls = reply.enhanced?.class ?? Math.floor(reply.code / 100);
    if (cls === 4) return 'transient';
    if (cls === 5) return 'permanent';
  }
  return PERMANENT_CODES.has(error.code) ? 'permanent' : 'transient';
}
