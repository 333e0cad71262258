import type { SmtpError } from '../errors';
import type { PipeliningMode } from '../send/context';

/**
 * Where a session stands. A connect passes through `connecting`, `greeting`, `ehlo` (or `helo`),
 * `starttls` and a second `ehlo` when upgrading, `authenticating`, and ends at `connected`.
 */
export type SessionStatus =
  | 'idle'
  | 'connecting'
  | 'greeting'
  | 'ehlo'
  | 'helo'
  | 'starttls'
  | 'authenticating'
  | 'connected'
  | 'sending'
  | 'quitting'
  | 'closed';

/** What is known of the TLS layer once it is in force. */
export interface TlsInfo {
  /** e.g. `TLSv1.3` */
  protocol: string | null;
  /** e.g. `TLS_AES_256_GCM_SHA384` */
  cipher: string;
  /** Whether the certificate was verified against the trusted CAs. */
  authorized: boolean;
  /** The server certificate's subject, e.g. `CN=mail.example.com, O=Example`; absent without a certificate. */
  subject?: string;
  /** The handshake resumed an earlier TLS session with this server (no full handshake). */
  resumed: boolean;
}

/**
 * A snapshot of a session, as `state$` and `connect()` emit it.
 *
 * @example
 * ```ts
 * session.state$.subscribe((s: SessionState) => console.log(s.status, s.error?.code ?? ''));
 * ```
 */
export interface SessionState {
  /** Where the session stands. */
  status: SessionStatus;
  /** The server of the current (or last) connection. */
  server?: {
    /** As given to `connect()`, without brackets for IPv6. */
    host: string;
    /** The TCP port. */
    port: number;
  };
  /** The SASL mechanism in use, from `authenticating` on. */
  mechanism?: string;
  /** Why the session closed, on a `closed` state that was not asked for. */
  error?: SmtpError;
  /** True while TLS is in force. */
  secure: boolean;
  /** The TLS protocol, cipher and certificate, while TLS is in force. */
  tls?: TlsInfo;
  /**
   * How far this connection pipelines (RFC 2920), once connected: `across-mails` when the server
   * offers PIPELINING, `within-mail` when the session's option asks for it or the server was found
   * to refuse commands sent behind an end of data, `off` without PIPELINING.
   */
  pipelining?: PipeliningMode;
}

/** A step of a protocol phase: the status it enters, with what it learned. */
export interface Transition {
  status: SessionStatus;
  mechanism?: string;
}
