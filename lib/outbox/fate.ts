import type { SmtpError } from '../errors';
import type { SendResult } from '../mail/mail';
import type { FailureKind, PoolOutcome } from '../pool';
import { formatReply } from '../reply/reply';
import { sanitize } from '../reply/sanitize';

/**
 * What the server said to a delivered mail, as the job keeps it (its BullMQ return value, JSON).
 *
 * @example
 * ```ts
 * const delivery: Delivery = { queueId: '4Zx1', reply: '250 2.0.0 Ok: queued as 4Zx1', accepted: ['b@example.com'], rejected: [] };
 * ```
 */
export interface Delivery {
  /** From the server's "queued as X" (or similar), when it said one. */
  queueId?: string;
  /** The reply to the end of data, on one line. */
  reply: string;
  /** Recipients the server accepted. */
  accepted: string[];
  /** Recipients the server refused, each with its reply on one line; the mail went to the others. */
  rejected: Refusal[];
  /** True when an operator resolved an uncertain mail as delivered: nothing was sent this time. */
  resolved?: true;
}

/**
 * A recipient the server refused, as the outbox keeps it.
 *
 * @example
 * ```ts
 * const refusal: Refusal = { recipient: 'c@example.com', code: 550, reply: '550 5.1.1 no such user' };
 * ```
 */
export interface Refusal {
  /** The address as given in the mail. */
  recipient: string;
  /** The reply's code: 5xx refused for good, 4xx for now. */
  code: number;
  /** The server's refusal, on one line. */
  reply: string;
}

/**
 * A mail's fate in one attempt: delivered, or how it failed (the pool's {@link FailureKind}), with
 * the recipients refused when none was accepted.
 */
export type Fate = { kind: 'delivered'; delivery: Delivery } | { kind: FailureKind; error: SmtpError; rejected: Refusal[] };

/**
 * The one place that reads the pool's outcomes, so that a change of their shape is one edit here.
 * The pool has classified each failure (`classifyFailure`): the outbox takes its word.
 *
 * @example
 * ```ts
 * const fate = fateOf(await firstValueFrom(pool.sendAll([mail])));
 * ```
 */
export function fateOf(outcome: PoolOutcome): Fate {
  if (outcome.ok) return { kind: 'delivered', delivery: deliveryOf(outcome.result) };
  return { kind: outcome.failure, error: outcome.error, rejected: refusals(outcome.rejected ?? []) };
}

function deliveryOf(result: SendResult): Delivery {
  return {
    ...(result.queueId !== undefined && { queueId: result.queueId }),
    reply: oneLine(result.reply),
    accepted: result.accepted,
    rejected: refusals(result.rejected),
  };
}

function refusals(rejected: SendResult['rejected']): Refusal[] {
  return rejected.map(({ recipient, reply }) => ({ recipient, code: reply.code, reply: oneLine(reply) }));
}

function oneLine(reply: SendResult['reply']): string {
  return sanitize(formatReply(reply).join(' | '));
}

/**
 * An error on one line, code first, for the job's failure reason and the uncertain set.
 *
 * @example
 * ```ts
 * describeFailure(new SmtpError('ESHUTDOWN', 'the server closed the connection')); // 'ESHUTDOWN the server closed the connection'
 * ```
 */
export function describeFailure(error: SmtpError): string {
  return sanitize(`${error.code} ${error.message}`, 1024);
}
