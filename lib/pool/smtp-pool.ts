import type { Observable, ObservableInput } from 'rxjs';
import type { CallOptions } from '../call-options';
import type { Mail, SendResult } from '../mail/mail';
import type { PoolTranscriptLine } from './core';
import type { PoolOutcome } from './outcome';
import type { WorkerStatus } from './core';

/**
 * A snapshot of the pool, emitted on every change.
 *
 * @example
 * ```ts
 * pool.state$.subscribe((s) => console.log(`${s.connections.busy} busy, ${s.inFlight} in flight, ${s.sent} sent`));
 * ```
 */
export interface PoolState {
  /** Connection slots by what they are doing. */
  connections: Record<WorkerStatus, number>;
  /** Mails waiting for another connection after theirs died before their end of data. */
  queued: number;
  /** Mails handed to a connection and not answered yet. */
  inFlight: number;
  /** Mails the server accepted. */
  sent: number;
  /** Mails that failed (permanent, transient or uncertain). */
  failed: number;
  /** True once `close()` was called. */
  closing: boolean;
  /**
   * Present while connects are failing: how many failed in a row (the next waits longer, see
   * `PoolOptions.backoff`), and whether the policy is spent, so that waiting mails fail.
   */
  backoff?: {
    /** Connects that failed in a row. */
    failures: number;
    /** The backoff's attempts are spent: mails fail at once until a connect succeeds. */
    down: boolean;
  };
}

/**
 * Many connections to one server, scheduled for you. Each mail is given to one connection at a
 * time, never two transactions interleave on a socket, and every mail given ends as exactly one
 * outcome.
 *
 * @example
 * ```ts
 * const pool = createPool({ server: 'smtp://mail.example.com:587', username: 'alice', password, maxConnections: 3 });
 * pool.sendAll(mails).subscribe((o) => console.log(o.ok ? o.result.queueId : `${o.failure} ${o.error.code}`));
 * ```
 */
export interface SmtpPool {
  /** Sends one mail on whichever connection frees up first; its result, or an {@link SmtpError}. */
  send(mail: Mail, options?: CallOptions): Observable<SendResult>;
  /**
   * Sends mails over the pool's connections, one outcome per mail, in completion order (each
   * carries its input position). An iterable or async iterable input is read only as connections
   * have room (backpressure). Completes when every mail has its outcome. Errors with a
   * {@link SendAllError}: `ECANCELED` when the signal (the call's or the pool's) aborts, accounting
   * for every mail without an outcome; `EIO` when the input itself fails, after the outcomes of the
   * mails it gave. Unsubscribing stops reading the input and holds back every mail whose end of data
   * has not left.
   */
  sendAll(mails: ObservableInput<Mail>, options?: CallOptions): Observable<PoolOutcome>;
  /** The current state on subscribe, then every change; completes once closed. */
  readonly state$: Observable<PoolState>;
  /** Every connection's transcript (AUTH payloads redacted), hot; completes once closed. */
  readonly transcript$: Observable<PoolTranscriptLine>;
  /** Refuses new mail (`EPERM`), lets every mail already given finish, QUITs every connection, completes. */
  close(): Observable<void>;
}
