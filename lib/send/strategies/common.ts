import { SmtpError } from '../../errors';
import type { TransferContext } from '../context';
import type { EnvelopeVerdict } from '../verdict';

/**
 * RFC 2033 4.2: under LMTP the end of data gets one reply per accepted recipient; the end of data
 * itself owes the first, these placeholders the others.
 *
 * @example
 * ```ts
 * const items = [{ raw: data }, { line: '.' }, ...lmtpReplies(ctx, verdict)];
 * ```
 */
export function lmtpReplies(ctx: TransferContext, verdict: EnvelopeVerdict): { reply: string }[] {
  return ctx.settings.lmtp ? verdict.accepted.slice(1).map(() => ({ reply: 'end of data' })) : [];
}

/**
 * The error a cancelled mail is settled with; the caller never sees it (it unsubscribed or aborted).
 *
 * @example
 * ```ts
 * failed$(ctx, task, cancelledError());
 * ```
 */
export function cancelledError(): SmtpError {
  return new SmtpError('ECANCELED', 'the mail was cancelled before its end of data');
}
