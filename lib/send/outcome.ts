import { type Observable, lastValueFrom } from 'rxjs';
import { SmtpError, replyError } from '../errors';
import { type SmtpReply, replyClass } from '../reply/reply';
import type { SendOutcome, SendResult } from '../mail/mail';
import type { InFlight } from './window';

/**
 * A per-mail failure: the mail gets an `ok: false` outcome and the transfer goes on.
 *
 * @example
 * const failure = classify(reply, [250], 'MAIL FROM'); // a MailFailure for a 550
 */
export class MailFailure {
  constructor(readonly error: SmtpError) {}
}

/**
 * A reply the command takes is fine (undefined); 4xx/5xx fail the mail, except 421, which is the
 * server closing the session; any other code means the two sides are out of step (thrown).
 *
 * @example
 * classify(reply, [250, 251, 252], 'RCPT TO');
 */
export function classify(reply: SmtpReply, accepted: readonly number[], command: string): MailFailure | undefined {
  if (accepted.includes(reply.code)) return undefined;
  const error = replyError(reply, command);
  const cls = replyClass(reply);
  if ((cls === 4 || cls === 5) && reply.code !== 421) return new MailFailure(error);
  throw error;
}

/**
 * Reads the replies of a mail written whole (MAIL, each RCPT, `BDAT n LAST`) through `next`, in
 * order, filling its accepted and rejected recipients. The mail failed if MAIL did, if no recipient
 * was accepted (the BDAT reply then only says so again), or if the end of data was refused.
 *
 * @example
 * const { failure, last } = await judgeWhole(item, reply$);
 */
export async function judgeWhole(
  item: InFlight,
  next: (reply: Observable<SmtpReply>) => Promise<SmtpReply>,
): Promise<{ failure: MailFailure | undefined; last: SmtpReply }> {
  let failure = classify(await next(item.replies[0]!), [250], 'MAIL FROM');
  const { recipients } = item.envelope;
  for (let i = 0; i < recipients.length; i++) {
    const r = await next(item.replies[1 + i]!);
    if (classify(r, [250, 251, 252], 'RCPT TO') === undefined) item.accepted.push(recipients[i]!);
    else item.rejected.push({ recipient: recipients[i]!, reply: r });
  }
  const last = await next(item.replies[recipients.length + 1]!);
  const lastFailure = classify(last, [250], 'end of data');
  if (failure === undefined && item.accepted.length === 0) {
    failure = new MailFailure(replyError(item.rejected[item.rejected.length - 1]!.reply, 'RCPT TO'));
  }
  return { failure: failure ?? lastFailure, last };
}

/**
 * The reply an Observable from the connection carries.
 *
 * @example
 * const reply = await reply$(conn.write([{ line: 'RSET' }])[0]!);
 */
export function reply$(observable: Observable<SmtpReply>): Promise<SmtpReply> {
  return lastValueFrom(observable);
}

/**
 * Waits for the reply to an RSET written earlier, if any; anything but 250 means the two sides are out of step.
 *
 * @example
 * await expectReset(conn.write([{ line: 'RSET' }])[0]);
 */
export async function expectReset(reset: Observable<SmtpReply> | undefined): Promise<undefined> {
  if (reset === undefined) return undefined;
  const reply = await reply$(reset);
  if (reply.code !== 250) throw new SmtpError('ESERVERSYNC', `RSET was answered ${reply.code}`, { reply, command: 'RSET' });
  return undefined;
}

/**
 * For replies read only to stay in step, whose errors the caller has already dealt with.
 *
 * @example
 * await reply$(r).catch(ignoreReplyError);
 */
export function ignoreReplyError(): void {}

/**
 * Any thrown value as an {@link SmtpError} (`EIO` unless it is one already).
 *
 * @example
 * throw asSmtpError(err);
 */
export function asSmtpError(err: unknown): SmtpError {
  return err instanceof SmtpError ? err : new SmtpError('EIO', err instanceof Error ? err.message : String(err), { cause: err });
}

/**
 * A mail's outcome as `send()` gives it, on a session or a pool: the result, or the error thrown.
 *
 * @example
 * session.sendAll([mail]).pipe(map(resultOf));
 */
export function resultOf(outcome: SendOutcome): SendResult {
  if (!outcome.ok) throw outcome.error;
  return outcome.result;
}
