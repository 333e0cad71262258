import type { SmtpError } from '../../lib/errors';
import type { Mail, SendOutcome, SendResult } from '../../lib/mail/mail';
import type { PoolOutcome } from '../../lib/pool';

/**
 * What the interop tests read of an outcome, read in one place: the public shape of `SendOutcome` is
 * read by {@link fateOf} alone (`mail` on every outcome, beside `index`).
 *
 * @example
 * ```ts
 * const fates = (await outcomesOf(session.sendAll(mails))).map(fateOf);
 * expect(failuresOf(fates)).to.deep.equal({});
 * ```
 */

/** One mail's fate: delivered with its result, or failed with its error. */
export type Fate = { ok: true; mail: Mail; result: SendResult; code: 'ok' } | { ok: false; mail: Mail; error: SmtpError; code: string };

/** The fate of a session's or a pool's outcome. */
export function fateOf(outcome: SendOutcome | PoolOutcome): Fate {
  return outcome.ok
    ? { ok: true, mail: outcome.mail, result: outcome.result, code: 'ok' }
    : { ok: false, mail: outcome.mail, error: outcome.error, code: outcome.error.code };
}

/**
 * The failures among `fates`, counted by code and message: `{}` when every mail was delivered,
 * and a short, exact account of what went wrong when not (500 identical errors are one line).
 */
export function failuresOf(fates: readonly Fate[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const fate of fates) {
    if (fate.ok) continue;
    const key = `${fate.code} ${fate.error.message}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
