/**
 * rx-smtp: a reactive SMTP client for Node.js on RxJS 7.
 *
 * @example
 * ```ts
 * import { createSession } from 'rx-smtp';
 * const session = createSession({ timeout: 10_000 });
 * session.connect('smtp://localhost:2525').subscribe((s) => console.log(s.status));
 * ```
 * @module rx-smtp
 * @packageDocumentation
 */
export { abortable } from './abort';
export type { CallHooks, CallOptions } from './call-options';
export type { ServerAddress } from './address';
export type { SessionState, SessionStatus, TlsInfo } from './dialogue/transition';
export { CERTIFICATE_ERROR_CODES, type RxSmtpCode, SMTP_ERROR_CODES, SOCKET_ERROR_CODES, type SmtpErrorCode } from './error-codes';
export { SmtpError, type SmtpErrorDetails } from './errors';
export type { DsnOptions, Mail, MailBody, MailRef, SendOutcome, SendResult } from './mail/mail';
export { DEFAULT_TIMEOUT_MS, type SessionOptions, type TlsMode, type WindowOptions } from './options';
export {
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  type FailureKind,
  type PoolOptions,
  type PoolOutcome,
  type PoolState,
  type PoolTranscriptLine,
  type SmtpPool,
  type WorkerStatus,
  classifyFailure,
  createPool,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_MESSAGES_PER_CONNECTION,
} from './pool';
export { type ParseRepliesOptions, parseReplies } from './reply/parse-replies';
export { DEFAULT_MAX_LINE_LENGTH, DEFAULT_MAX_LINES, DEFAULT_MAX_REPLY_BYTES, type ReplyLimits } from './reply/reply-parser';
export { MAX_DISPLAY_LENGTH } from './reply/sanitize';
export { MAX_AUTH_ROUNDS } from './dialogue/auth/authenticate';
export { MAX_EHLO_KEYWORDS } from './dialogue/capabilities';
export type { EnhancedStatus, SmtpReply } from './reply/reply';
export type { PipeliningMode } from './send/context';
export { SendAllError } from './send/send-all-error';
export { DEFAULT_WINDOW_BYTES, DEFAULT_WINDOW_MAILS } from './send/window';
export { createSession, type SmtpSession } from './session';
export { MAX_TLS_SESSIONS, TlsSessionCache } from './transport/tls-sessions';
export type { TranscriptLine } from './transport/transcript';
