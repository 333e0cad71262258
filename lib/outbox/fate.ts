import type { SmtpError } from '../errors';
import type { SendResult } from '../mail/mail';
import type { PoolOutcome } from '../pool';
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
  rejected: {
    /** The address as given in the mail. */
    recipient: string;
    /** The server's refusal, on one line. */
    reply: string;
  }[];
  /** True when an operator resolved an uncertain mail as delivered: nothing was sent this time. */
  resolved?: true;
}

/** A mail's fate in one attempt: delivered, or how it failed. */
export type Fate = { kind: 'delivered'; delivery: Delivery } | { kind: 'permanent' | 'transient' | 'uncertain'; error: SmtpError };

/**
 * The one place that reads the pool's outcomes, so that a change of their shape is one edit here.
 *
 * @example
 * ```ts
 * const fate = fateOf(await firstValueFrom(pool.sendAll([mail])));
 * ```
 */
export function fateOf(outcome: PoolOutcome): Fate {
  if (outcome.ok) return { kind: 'delivered', delivery: deliveryOf(outcome.result) };
  return { kind: outcome.failure, error: outcome.error };
}

function deliveryOf(result: SendResult): Delivery {
  return {
    ...(result.queueId !== undefined && { queueId: result.queueId }),
    reply: oneLine(result.reply),
    accepted: result.accepted,
    rejected: result.rejected.map(({ recipient, reply }) => ({ recipient, reply: oneLine(reply) })),
  };
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
