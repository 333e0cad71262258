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
export { type CallOptions, abortable } from './abort';
export type { ServerAddress } from './address';
export type { SessionState, SessionStatus, TlsInfo } from './dialogue/transition';
export { SendAllError, SmtpError, type SmtpErrorCode, type SmtpErrorDetails } from './errors';
export type { DsnOptions, Mail, MailBody, SendOutcome, SendResult } from './mail/mail';
export { DEFAULT_TIMEOUT_MS, type SessionOptions, type TlsMode } from './options';
export { type FailureKind, type PoolOptions, type PoolOutcome, type PoolState, type PoolTranscriptLine, type SmtpPool, type WorkerStatus, classifyFailure, createPool } from './pool';
export { type ParseRepliesOptions, parseReplies } from './reply/parse-replies';
export { DEFAULT_MAX_LINE_LENGTH, DEFAULT_MAX_LINES, DEFAULT_MAX_REPLY_BYTES, type ReplyLimits } from './reply/reply-parser';
export { MAX_DISPLAY_LENGTH } from './reply/sanitize';
export { MAX_AUTH_ROUNDS } from './dialogue/auth/authenticate';
export { MAX_EHLO_KEYWORDS } from './dialogue/capabilities';
export type { EnhancedStatus, SmtpReply } from './reply/reply';
export { createSession, type SmtpSession } from './session';
export type { TranscriptLine } from './transport/transcript';
