import type { SchedulerLike, Subject } from 'rxjs';
import type { SmtpError } from '../errors';
import type { SmtpReply } from '../reply/reply';
import type { ReplyLimits } from '../reply/reply-parser';
import type { TranscriptLine } from './transcript';
import type { Transport } from './transport';

/**
 * Settings of a `Connection`.
 *
 * @example
 * ```ts
 * const options: ConnectionOptions = { timeout: 60_000, limits: resolveReplyLimits() };
 * ```
 */
export interface ConnectionOptions {
  /** Milliseconds for the TCP (or TLS) connect, for each reply, and for a full socket buffer to drain. */
  timeout: number;
  limits: ReplyLimits;
  /** Where the deadlines run: RxJS's `asyncScheduler` unless a test passes its `TestScheduler`. */
  scheduler?: SchedulerLike;
  /** Where the TLS socket of an upgrade comes from: {@link nodeTransport} unless a test fakes it. */
  transport?: Transport;
  /** Told each TLS session (ticket) the server hands out, so that a later connection can resume it. */
  onTlsSession?: (session: Buffer) => void;
  /**
   * The owner's streams and failure handler (the session's), fed directly rather than through
   * subscriptions to the connection's own: an idle connection then holds no forwarding
   * subscriber, and the transcript is only formatted while the owner's `transcript$` is read.
   * The streams are left open when the connection ends; `failure` is called before `ended$` emits.
   */
  sinks?: { replies: Subject<SmtpReply>; transcript: Subject<TranscriptLine>; failure: (error: SmtpError) => void };
}
