import { type SmtpError, replyError } from '../errors';
import type { Envelope } from '../mail/envelope';
import type { SendResult } from '../mail/mail';
import { type SmtpReply, replyClass } from '../reply/reply';
import type { Fate } from './task';
import { queueIdOf } from './queue-id';

/** RCPT TO's positive replies (RFC 5321 4.1.1.3: 251 and 252 accept too). */
export const RCPT_OK: readonly number[] = [250, 251, 252];

/**
 * A reply the command takes is fine (undefined); a 4xx or 5xx fails the mail (returned); a 421 is
 * the server closing the session, and any other code means the two sides are out of step: both are
 * thrown, ending the session.
 *
 * @example
 * ```ts
 * judgeReply(reply, [250], 'MAIL FROM'); // an ESERVERPERM SmtpError for a 550
 * ```
 */
export function judgeReply(reply: SmtpReply, accepted: readonly number[], command: string): SmtpError | undefined {
  if (accepted.includes(reply.code)) return undefined;
  const error = replyError(reply, command);
  const cls = replyClass(reply);
  if ((cls === 4 || cls === 5) && reply.code !== 421) return error;
  throw error;
}

/** What the replies to MAIL and each RCPT say of a mail. */
export interface EnvelopeVerdict {
  accepted: string[];
  rejected: SendResult['rejected'];
  /** Why the mail failed (MAIL refused, or no recipient accepted); undefined when it goes on. */
  failure: SmtpError | undefined;
}

/**
 * Judges the replies to MAIL and to each RCPT (in order; fewer when lock-step stopped early). The
 * mail fails when MAIL is refused or no recipient is accepted (with the last refusal).
 *
 * @example
 * ```ts
 * const { accepted, failure } = judgeEnvelope(envelope, [mailReply, ...rcptReplies]);
 * ```
 */
export function judgeEnvelope(envelope: Envelope, replies: readonly SmtpReply[]): EnvelopeVerdict {
  let failure = judgeReply(replies[0]!, [250], 'MAIL FROM');
  const accepted: string[] = [];
  const rejected: SendResult['rejected'] = [];
  for (let i = 0; i < envelope.recipients.length && 1 + i < replies.length; i++) {
    const reply = replies[1 + i]!;
    if (judgeReply(reply, RCPT_OK, 'RCPT TO') === undefined) accepted.push(envelope.recipients[i]!);
    else rejected.push({ recipient: envelope.recipients[i]!, reply });
  }
  if (failure === undefined && accepted.length === 0) {
    const last = rejected[rejected.length - 1];
    failure = last === undefined ? undefined : replyError(last.reply, 'RCPT TO');
  }
  return { accepted, rejected, failure };
}

/**
 * The fate of a mail from the replies after its content: those to earlier BDAT chunks, then the end
 * of data's (with SMTP one; under LMTP one per accepted recipient, RFC 2033 4.2, in RCPT order). A
 * refused chunk or end of data fails the mail; under LMTP the mail is delivered to the recipients
 * whose reply was 250 and fails only when none was. A 421 is a refusal like any 4xx (the server
 * refused the message before closing: the mail failed, it is not uncertain), and stands for every
 * reply it cut short.
 *
 * @example
 * ```ts
 * const fate = judgeEndOfData(verdict, replies, { lmtp: false, bytes: 42, chunks: 0 });
 * ```
 */
export function judgeEndOfData(verdict: EnvelopeVerdict, replies: readonly SmtpReply[], how: { lmtp: boolean; bytes: number; chunks: number }): Fate {
  const last = replies[replies.length - 1]!;
  for (const reply of replies.slice(0, Math.min(how.chunks, replies.length - 1))) {
    const failure = judgeFinal(reply, 'BDAT');
    if (failure !== undefined) return { ok: false, error: failure };
  }
  if (!how.lmtp) {
    const failure = judgeFinal(last, 'end of data');
    return failure === undefined ? delivered(verdict.accepted, verdict.rejected, last, how.bytes) : { ok: false, error: failure };
  }
  const finals = replies.slice(how.chunks);
  const accepted: string[] = [];
  const rejected = [...verdict.rejected];
  verdict.accepted.forEach((recipient, i) => {
    const reply = finals[i] ?? last;
    if (judgeFinal(reply, 'end of data') === undefined) accepted.push(recipient);
    else rejected.push({ recipient, reply });
  });
  if (accepted.length === 0) return { ok: false, error: replyError(last, 'end of data') };
  return delivered(accepted, rejected, last, how.bytes);
}

/** A reply after content: 250 is fine, any 4xx or 5xx (421 included) refuses, anything else is out of step (thrown). */
function judgeFinal(reply: SmtpReply, command: string): SmtpError | undefined {
  if (reply.code === 250) return undefined;
  const error = replyError(reply, command);
  const cls = replyClass(reply);
  if (cls === 4 || cls === 5) return error;
  throw error;
}

function delivered(accepted: string[], rejected: SendResult['rejected'], reply: SmtpReply, bytes: number): Fate {
  const result: SendResult = { accepted, rejected, reply, bytes };
  const queueId = queueIdOf(reply);
  if (queueId !== undefined) result.queueId = queueId;
  return { ok: true, result };
}
