import type { SchedulerLike, Subject } from 'rxjs';
import type { SmtpError } from '../errors';
import type { PipeliningMode } from '../send/context';
import type { SmtpSession } from '../session';
import type { TranscriptLine } from '../transport/transcript';
import type { ServerHealth } from './backoff';
import type { Job } from './batch';
import type { Dispatcher } from './dispatcher';
import type { ResolvedPoolOptions } from './options';
import type { PoolOutcome } from './outcome';

/** What a connection slot is doing, for the pool's state. */
export type WorkerStatus = 'connecting' | 'busy' | 'idle' | 'closing';

/**
 * A line of one of the pool's connections, numbered from 1 in the order they were opened.
 *
 * @example
 * ```ts
 * pool.transcript$.subscribe((t: PoolTranscriptLine) => console.error(t.connection, t.direction, t.line));
 * ```
 */
export interface PoolTranscriptLine extends TranscriptLine {
  /** Which connection: 1 for the first the pool opened, and so on. */
  connection: number;
}

/**
 * What a worker needs from its pool: where jobs come from, where fates and status go. Methods, so
 * that the pool keeps its own counts and publishes each change.
 *
 * @example
 * ```ts
 * core.settle(job, outcome);
 * ```
 */
export interface PoolCore {
  readonly options: ResolvedPoolOptions;
  readonly scheduler: SchedulerLike;
  readonly dispatcher: Dispatcher;
  readonly health: ServerHealth;
  /** True once `close()` was called (or the pool aborted): workers finish what they hold and stop. */
  isClosing(): boolean;
  /** What the pool learned of its server's pipelining (a refusal behind the end of data), for new connections. */
  learnedPipelining(): PipeliningMode | undefined;
  /** Where each connection's transcript goes, numbered, while someone listens. */
  readonly transcriptLines$: Subject<PoolTranscriptLine>;
  /** Whether any mail waits to be sent or may still come. */
  hasWork(): boolean;
  /** A connection's lanes are all busy: if no other lane waits and the inputs show more mails, another connection may open. */
  took(): void;
  settle(job: Job, outcome: PoolOutcome): void;
  setStatus(slot: object, status: WorkerStatus): void;
  /** Mails handed to a session whose outcome is not known yet. */
  inFlight(delta: 1 | -1): void;
  opened(session: SmtpSession): void;
  closed(session: SmtpSession): void;
  connected(): void;
  /** A connect begun when the server's health counted `since` failures in a row failed. */
  connectFailed(error: SmtpError, since: number): void;
  /** The server refused commands behind an end of data: the pool's next connections wait for each end-of-data reply. */
  learnedWithinMail(): void;
  workerFailed(slot: object, error: SmtpError): void;
}
