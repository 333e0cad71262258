import type { AsyncSubject, Subject } from 'rxjs';
import type { SmtpError } from '../errors';
import type { SmtpReply } from '../reply/reply';
import type { ReplyLimits } from '../reply/reply-parser';
import type { TranscriptLine } from './transcript';

/**
 * Settings of a `Connection`.
 *
 * @example
 * ```ts
 * const options: ConnectionOptions = { timeout: 60_000, limits: resolveReplyLimits() };
 * ```
 */
export interface ConnectionOptions {
  /** Milliseconds for the TCP (or TLS) connect and for each reply. */
  timeout: number;
  limits: ReplyLimits;
  /**
   * The owner's streams and failure handler (the session's), fed directly rather than through
   * subscriptions to the connection's own: an idle connection then holds no forwarding
   * subscriber, and the transcript is only formatted while the owner's `transcript$` is read.
   * The streams are left open when the connection ends; `failure` is called before `failure$` emits.
   */
  sinks?: { replies: Subject<SmtpReply>; transcript: Subject<TranscriptLine>; failure: (error: SmtpError) => void };
}

/**
 * A command written (or the greeting expected) whose reply has not come yet.
 *
 * @example
 * ```ts
 * const waiter: Waiter = { command: 'NOOP', reply$: new AsyncSubject(), redactReply: false, last: false };
 * ```
 */
export interface Waiter {
  /** The command as errors may show it (redacted), or undefined for the greeting. */
  readonly command: string | undefined;
  readonly reply$: AsyncSubject<SmtpReply>;
  readonly redactReply: boolean;
  readonly last: boolean;
}
