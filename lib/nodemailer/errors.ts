import { SmtpError, replyError } from '../errors';
import { formatReply, type SmtpReply } from '../reply/reply';
import { timeoutTypeOf } from './deadlines';

/**
 * The error codes nodemailer's SMTP transport uses, which {@link RxSmtpTransportError} carries:
 *
 * - `EAUTH`: the login failed (a 4xx/5xx to AUTH, no mechanism in common, no TLS for the credentials);
 * - `EENVELOPE`: the sender or every recipient was refused, DATA was refused, or an address or DSN
 *   value is not valid;
 * - `EMESSAGE`: the server refused the message at its end of data, or it is larger than its SIZE;
 * - `ESOCKET`: a socket error (`originalCode` is Node's: `ECONNREFUSED`, `ECONNRESET`, ...);
 * - `EDNS`: the host name could not be resolved (`originalCode`: `ENOTFOUND`, `EAI_AGAIN`);
 * - `ECONNECTION`: the server closed the connection (or answered 421), or the transport is closed;
 * - `ETIMEDOUT`: a deadline passed (`timeoutType`: `CONNECT_TIMEOUT`, `GREETING_TIMEOUT`, `SOCKET_TIMEOUT`);
 * - `ETLS`: the TLS handshake or STARTTLS failed, or `requireTLS` met a server without STARTTLS;
 * - `EPROTOCOL`: the server broke the protocol (a bad greeting, an unexpected reply);
 * - `ESTREAM`: the message stream failed; `EABORT`: the send was aborted.
 *
 * @example
 * ```ts
 * const retryable: NodemailerErrorCode[] = ['ECONNECTION', 'ESOCKET', 'ETIMEDOUT'];
 * ```
 */
export type NodemailerErrorCode =
  | 'EAUTH'
  | 'EENVELOPE'
  | 'EMESSAGE'
  | 'ESOCKET'
  | 'EDNS'
  | 'ECONNECTION'
  | 'ETIMEDOUT'
  | 'ETLS'
  | 'EPROTOCOL'
  | 'ESTREAM'
  | 'EABORT';

/**
 * Which of nodemailer's waits an `ETIMEDOUT` ended: connecting (`connectionTimeout`), the
 * greeting (`greetingTimeout`), a TLS upgrade, or the server's silence (rx-smtp's `timeout`).
 *
 * @example
 * ```ts
 * if (err.timeoutType === 'GREETING_TIMEOUT') console.log('the server never said hello');
 * ```
 */
export type NodemailerTimeoutType = 'CONNECT_TIMEOUT' | 'GREETING_TIMEOUT' | 'UPGRADE_TIMEOUT' | 'SOCKET_TIMEOUT';

/** Everything an {@link RxSmtpTransportError} is made of, besides its code, message and cause. */
export interface RxSmtpTransportErrorFields {
  /** The server's reply as it stood on the wire, lines joined by `\n`. */
  response?: string;
  /** The reply code of `response`. */
  responseCode?: number;
  /** True for a 5xx other than 503: the same message would be refused again. */
  permanent?: boolean;
  /** The command that failed, in nodemailer's words: `AUTH PLAIN`, `MAIL FROM`, `RCPT TO`, `DATA`, `CONN`, `API`. */
  command?: string;
  /** Every refused recipient, when all of them were. */
  rejected?: string[];
  /** One error per refused recipient, with `recipient`. */
  rejectedErrors?: RxSmtpTransportError[];
  /** The recipient a refusal is about. */
  recipient?: string;
  /** Node's own code of a socket or DNS error (`ECONNREFUSED`, `ENOTFOUND`, ...). */
  originalCode?: string;
  /** Which deadline passed, for `ETIMEDOUT`. */
  timeoutType?: NodemailerTimeoutType;
  /** Node's system error number, for a socket error. */
  errno?: number;
  /** The system call that failed, for a socket error. */
  syscall?: string;
  /** The address that was being connected to, for a socket error. */
  address?: string;
  /** The port that was being connected to, for a socket error. */
  port?: number;
  /** The file that could not be read, for a file attachment's error (ESTREAM). */
  path?: string;
}

/**
 * An error in the shape of nodemailer's own SMTP transport (`code`, `response`, `responseCode`,
 * `command`, `rejected`, `rejectedErrors`, ...), so that code written for nodemailer keeps working.
 * rx-smtp's own {@link "rx-smtp"!SmtpError}, with its stable rx-smtp code and the parsed `reply`,
 * is its `cause`.
 *
 * @example
 * ```ts
 * transporter.sendMail(message).catch((err: RxSmtpTransportError) => {
 *   if (err.code === 'EENVELOPE') console.log(err.rejected, err.responseCode, err.cause.code);
 * });
 * ```
 */
export class RxSmtpTransportError extends Error implements RxSmtpTransportErrorFields {
  /** nodemailer's code for what went wrong. */
  readonly code: NodemailerErrorCode;
  /** rx-smtp's error: its stable code, the parsed `reply`, the redacted `command`. */
  declare readonly cause: SmtpError;
  declare readonly response?: string;
  declare readonly responseCode?: number;
  declare readonly permanent?: boolean;
  declare readonly command?: string;
  declare readonly rejected?: string[];
  declare readonly rejectedErrors?: RxSmtpTransportError[];
  declare readonly recipient?: string;
  declare readonly originalCode?: string;
  declare readonly timeoutType?: NodemailerTimeoutType;
  declare readonly errno?: number;
  declare readonly syscall?: string;
  declare readonly address?: string;
  declare readonly port?: number;

  constructor(code: NodemailerErrorCode, message: string, cause: SmtpError, fields: RxSmtpTransportErrorFields = {}) {
    // nodemailer appends the response to the message; so does this, to read the same in logs.
    super(fields.response === undefined ? message : `${message}: ${fields.response}`, { cause });
    this.code = code;
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) Object.assign(this, { [key]: value });
  }
}

/** Where the error happened: the connect before AUTH, the login, or a mail's transaction. */
export type Phase = 'connect' | 'auth' | 'send';

// Node's codes for a host name that did not resolve, and for certificate and TLS failures.
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);
const TLS_CODE = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME_MISMATCH/;

/**
 * The nodemailer-shaped error for an rx-smtp error, as nodemailer's SMTP transport would report
 * the same failure. `recipients` are the mail's envelope recipients (for "all recipients refused").
 *
 * @example
 * ```ts
 * nodemailerError(new SmtpError('ESERVERPERM', '...', { reply, command: 'AUTH PLAIN' }), 'auth'); // code EAUTH
 * ```
 */
export function nodemailerError(error: SmtpError, phase: Phase, recipients: readonly string[] = [], refusals?: readonly Refusal[]): RxSmtpTransportError {
  const connection = connectionError(error);
  if (connection !== undefined) return connection;
  const reply = error.reply === undefined ? {} : replyFields(error.reply);
  if (phase === 'auth') {
    const command = error.command?.split(' ').slice(0, 2).join(' ') ?? 'API';
    return new RxSmtpTransportError('EAUTH', error.reply === undefined ? error.message : 'Invalid login', error, { ...reply, command });
  }
  if (phase === 'connect') return connectPhaseError(error, reply);
  return sendPhaseError(error, reply, recipients, refusals);
}

/** One recipient refused, with the server's reply to its RCPT TO. */
export interface Refusal {
  recipient: string;
  reply: SmtpReply;
}

/** Errors that end the connection, whatever the phase: nodemailer reports them the same way. */
function connectionError(error: SmtpError): RxSmtpTransportError | undefined {
  const code = error.code;
  if (code === 'ETIMEDOUT') {
    const timeoutType = timeoutTypeOf(error) ?? 'SOCKET_TIMEOUT';
    const message = timeoutType === 'GREETING_TIMEOUT' ? 'Greeting never received' : timeoutType === 'CONNECT_TIMEOUT' ? 'Connection timeout' : 'Timeout';
    return new RxSmtpTransportError('ETIMEDOUT', message, error, { command: 'CONN', timeoutType });
  }
  if (code === 'ESHUTDOWN') return new RxSmtpTransportError('ECONNECTION', 'Connection closed unexpectedly', error, { command: 'CONN' });
  if (code === 'ECANCELED') return new RxSmtpTransportError('EABORT', 'Message sending aborted', error);
  if (code === 'EPERM') return new RxSmtpTransportError('ECONNECTION', error.message, error, { command: 'API' });
  // A body that could not be read (a file attachment that is missing) carries the file system's
  // error: it is the message's fault (ESTREAM), not the connection's.
  if (code === 'EIO') return undefined;
  const system = systemError(error.cause);
  if (system === undefined) return undefined;
  if (DNS_CODES.has(code)) return new RxSmtpTransportError('EDNS', system.message, error, { ...socketFields(system), command: 'CONN' });
  if (TLS_CODE.test(code)) return new RxSmtpTransportError('ETLS', `Error initiating TLS - ${system.message}`, error, { command: 'CONN' });
  return new RxSmtpTransportError('ESOCKET', system.message, error, { ...socketFields(system), command: 'CONN' });
}

/** A failure of the greeting, EHLO or STARTTLS (the login is {@link Phase} `auth`). */
function connectPhaseError(error: SmtpError, reply: RxSmtpTransportErrorFields): RxSmtpTransportError {
  const command = error.command ?? 'CONN';
  if (error.code === 'ENOTSUP' || command.startsWith('STARTTLS')) {
    return new RxSmtpTransportError('ETLS', error.reply === undefined ? error.message : 'Error upgrading connection with STARTTLS', error, { ...reply, command: 'STARTTLS' });
  }
  if (reply.responseCode === 421) return new RxSmtpTransportError('ECONNECTION', 'Server terminates connection', error, { ...reply, command });
  if (error.code === 'EINVAL') return new RxSmtpTransportError('ECONNECTION', error.message, error, { command: 'API' });
  const what = error.command === undefined ? 'Invalid greeting' : `Invalid ${command.split(' ')[0]}`;
  return new RxSmtpTransportError('EPROTOCOL', error.reply === undefined ? error.message : what, error, { ...reply, command });
}

/** A mail refused or impossible: the envelope (EENVELOPE) or the content (EMESSAGE), as nodemailer tells them apart. */
function sendPhaseError(error: SmtpError, reply: RxSmtpTransportErrorFields, recipients: readonly string[], refusals?: readonly Refusal[]): RxSmtpTransportError {
  const command = error.command;
  if (error.reply !== undefined && command === 'MAIL FROM') return new RxSmtpTransportError('EENVELOPE', 'Mail command failed', error, { ...reply, command });
  if (error.reply !== undefined && command === 'RCPT TO') {
    // Without each refusal, only the last reply is known: every recipient is given that one.
    const each = refusals ?? recipients.map((recipient) => ({ recipient, reply: error.reply! }));
    // nodemailer reports a temporary refusal when there is one, so the mail is not taken for lost.
    const reported = each.find((r) => r.reply.code < 500)?.reply ?? each[each.length - 1]?.reply ?? error.reply;
    return new RxSmtpTransportError('EENVELOPE', "Can't send mail - all recipients were rejected", error, {
      ...replyFields(reported),
      command,
      rejected: each.map((r) => r.recipient),
      rejectedErrors: each.map((r) => recipientError(r.recipient, r.reply)),
    });
  }
  if (error.reply !== undefined && command === 'DATA') return new RxSmtpTransportError('EENVELOPE', 'Data command failed', error, { ...reply, command });
  if (error.reply !== undefined) return new RxSmtpTransportError('EMESSAGE', 'Message failed', error, { ...reply, command: 'DATA' });
  if (error.code === 'EMSGSIZE') return new RxSmtpTransportError('EMESSAGE', error.message, error, { command: 'MAIL FROM' });
  if (error.code === 'EIO') {
    // A file attachment that could not be read: nodemailer gives the file system's error as it is.
    const system = systemError(error.cause);
    if (system === undefined) return new RxSmtpTransportError('ESTREAM', error.message, error, { command: 'API' });
    const { code, errno, syscall, path } = system;
    return new RxSmtpTransportError('ESTREAM', system.message, error, { originalCode: code, errno, syscall, path, command: 'API' } as RxSmtpTransportErrorFields);
  }
  if (error.code === 'ESERVERSYNC' || error.code === 'EPROTO') return new RxSmtpTransportError('EPROTOCOL', error.message, error, { command: 'CONN' });
  return new RxSmtpTransportError('EENVELOPE', error.message, error, { command: 'API' });
}

/**
 * Where an error of a mail's outcome happened, from the command it answered: a pool connects for
 * its mails, so its outcomes also carry the failures of a connect (EHLO, STARTTLS) or a login (AUTH).
 *
 * @example
 * ```ts
 * phaseOf(new SmtpError('ESERVERPERM', '535 ...', { command: 'AUTH PLAIN' })); // 'auth'
 * ```
 */
export function phaseOf(error: SmtpError): Phase {
  const command = error.command ?? '';
  if (command.startsWith('AUTH') || error.code === 'EPROTO') return 'auth';
  if (/^(EHLO|HELO|LHLO|STARTTLS)\b/.test(command) || (error.reply !== undefined && error.command === undefined)) return 'connect';
  return 'send';
}

/**
 * The error nodemailer gives for one refused recipient (in `info.rejectedErrors`, and in the
 * `rejectedErrors` of an error for a mail whose recipients were all refused).
 *
 * @example
 * ```ts
 * recipientError('bob@example.com', { code: 550, lines: ['5.1.1 no such user'] }).responseCode; // 550
 * ```
 */
export function recipientError(recipient: string, reply: SmtpReply): RxSmtpTransportError {
  const cause = replyError(reply, `RCPT TO:<${recipient}>`);
  return new RxSmtpTransportError('EENVELOPE', 'Recipient command failed', cause, { ...replyFields(reply), command: 'RCPT TO', recipient });
}

function replyFields(reply: SmtpReply): Pick<RxSmtpTransportErrorFields, 'response' | 'responseCode' | 'permanent'> {
  // nodemailer: every 5yz is permanent except 503, which only says the session was out of step.
  return { response: formatReply(reply).join('\n'), responseCode: reply.code, permanent: reply.code >= 500 && reply.code < 600 && reply.code !== 503 };
}

type SystemError = Error & { code?: string; errno?: number; syscall?: string; address?: string; port?: number; path?: string };

/** The socket's or resolver's own error behind an rx-smtp error, when there is one. */
function systemError(cause: unknown): SystemError | undefined {
  return cause instanceof Error && typeof (cause as SystemError).code === 'string' && !(cause instanceof SmtpError) ? (cause as SystemError) : undefined;
}

function socketFields(system: SystemError): RxSmtpTransportErrorFields {
  const { code, errno, syscall, address, port } = system;
  return { originalCode: code, errno, syscall, address, port } as RxSmtpTransportErrorFields;
}
