import type { SmtpError } from '../errors';
import type { Delivery, Refusal } from './fate';

/**
 * What a worker did with one job, as `outbox.work()` emits it:
 * - `delivered`: the server accepted the mail (or an operator resolved it so); the job is completed;
 * - `permanent`: refused for good (5xx, or a mail that can never go as it is); the job failed, no retry;
 * - `transient`: a 4xx or a connection that could not be had; `retry` says whether the job will be
 *   tried again (after its backoff) or has used its attempts and failed;
 * - `uncertain`: it may have been delivered (its end of data left and no reply came, or a worker
 *   stopped after marking it); never sent again by itself: see `outbox.uncertain()`.
 *
 * @example
 * ```ts
 * outbox.work(poolOptions).subscribe((o: OutboxOutcome) => console.log(o.id, o.fate, o.fate === 'delivered' ? o.delivery.queueId : o.error.code));
 * ```
 */
export type OutboxOutcome =
  | (OutcomeBase & {
      /** Delivered. */
      fate: 'delivered';
      /** What the server said. */
      delivery: Delivery;
    })
  | (OutcomeBase & {
      /** Failed for good, or may have been delivered. */
      fate: 'permanent' | 'uncertain';
      /** Why. */
      error: SmtpError;
      /** The recipients refused, each with its reply, when the mail failed because none was accepted. */
      rejected: Refusal[];
    })
  | (OutcomeBase & {
      /** Failed for now. */
      fate: 'transient';
      /** Why. */
      error: SmtpError;
      /** The recipients refused (for now), each with its reply, when the mail failed because none was accepted. */
      rejected: Refusal[];
      /** True when the job will be tried again; false when it has used its attempts and failed. */
      retry: boolean;
    });

/**
 * What every outcome says of its job.
 *
 * @example
 * ```ts
 * const line = (o: OutcomeBase) => `${o.id} to ${o.to.join(', ')}, attempt ${o.attempt}`;
 * ```
 */
export interface OutcomeBase {
  /** The job's id (the caller's, or the one the outbox gave it). */
  id: string;
  /** The mail's recipients, for display. */
  to: string[];
  /** Which attempt this was, from 1. */
  attempt: number;
}
