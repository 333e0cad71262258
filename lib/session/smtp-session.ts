import type { Observable, ObservableInput } from 'rxjs';
import type { ServerAddress } from '../address';
import type { CallOptions } from '../call-options';
import type { SessionState } from '../dialogue/transition';
import type { Mail, SendOutcome, SendResult } from '../mail/mail';
import type { SmtpReply } from '../reply/reply';
import type { TranscriptLine } from '../transport/transcript';

/**
 * An SMTP client session: one connection at a time, its state as a stream, and the operations on
 * it. Calls made while others run wait their turn in order (mails of consecutive calls are
 * pipelined together); no method throws: every failure is an error notification.
 *
 * @example
 * ```ts
 * const session = createSession({ timeout: 10_000 });
 * session.state$.subscribe((s) => console.log(s.status));
 * session.connect('smtp://localhost:2525', 'alice', 's3cret').subscribe({ error: (e) => console.error(e.code) });
 * ```
 */
export interface SmtpSession {
  /** The current state on subscribe, then every transition; never errors; completes on dispose(). */
  readonly state$: Observable<SessionState>;
  /** Every parsed server reply, hot. */
  readonly replies$: Observable<SmtpReply>;
  /** Every line sent and received, in order; AUTH payloads replaced by `[redacted]`. Hot. */
  readonly transcript$: Observable<TranscriptLine>;
  /** The current state, synchronously. */
  readonly state: SessionState;
  /** EHLO keywords (upper-case) → parameters; null before EHLO, empty after a HELO fallback. */
  readonly capabilities: ReadonlyMap<string, string> | null;
  /** Connects, greets, upgrades to TLS and authenticates; cold, emits each state and completes at `connected`. */
  connect(server: ServerAddress, username?: string | null, password?: string | null): Observable<SessionState>;
  /**
   * Sends one mail; emits its result and completes, or errors: with the server's refusal (an
   * {@link SmtpError}), or, when the session fails or the signal aborts before the mail has its
   * fate, with a {@link SendAllError} saying whether it is uncertain or not sent.
   */
  send(mail: Mail, options?: CallOptions): Observable<SendResult>;
  /**
   * Sends mails one transaction after another, pipelined; one outcome per mail, in input order.
   * Errors with a {@link SendAllError} accounting for every mail when the session fails, is disposed,
   * the signal aborts, or the input fails. Unsubscribing holds back every mail whose end of data has
   * not left (RSET, or, inside DATA, closing the connection).
   */
  sendAll(mails: ObservableInput<Mail>, options?: CallOptions): Observable<SendOutcome>;
  /** Sends RSET, after the calls made before it. */
  reset(): Observable<SmtpReply>;
  /** Sends NOOP, after the calls made before it. */
  noop(): Observable<SmtpReply>;
  /** Sends QUIT once the calls made before it have ended, waits for 221 (or a close) and closes the socket. */
  quit(): Observable<SmtpReply>;
  /** Closes at once and completes `state$`; calls still running end with `EINVAL`, and every later call errors with it. */
  dispose(): void;
}
