import { SmtpError } from '../errors';
import type { SmtpReply } from '../reply/reply';

/**
 * Exit statuses of `rx-smtp`, from sendmail's sysexits.h, so that scripts can tell a typo from a
 * refusal from a reason to try again later.
 *
 * @example
 * ```ts
 * process.exitCode = ExitCode.TempFail;
 * ```
 */
export const ExitCode = {
  /** Every message was sent (or the probe completed). */
  Ok: 0,
  /** EX_USAGE: the command line is wrong. */
  Usage: 64,
  /** EX_DATAERR: a line of the `--mails` file is not a valid mail. */
  DataErr: 65,
  /** EX_NOINPUT: a file named on the command line cannot be read. */
  NoInput: 66,
  /** EX_UNAVAILABLE: the server refused for good (5xx), or cannot be used as asked (TLS, extensions). */
  Unavailable: 69,
  /** EX_SOFTWARE: a bug in rx-smtp; the message says what. */
  Software: 70,
  /** EX_TEMPFAIL: 4xx, a timeout, a refused or lost connection; trying again later may work. */
  TempFail: 75,
  /** EX_PROTOCOL: the server broke the protocol (ESERVERSYNC, EPROTO). */
  Protocol: 76,
  /** EX_NOPERM: the server refused the credentials (or no usable AUTH mechanism). */
  NoPerm: 77,
  /** EX_CONFIG: the TLS mode does not fit the port (implicit TLS against a port that answers in plain text). */
  Config: 78,
} as const;

/** One of the {@link ExitCode} values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Socket error codes after which trying again later may work. */
const TRANSIENT_CODES = new Set(['ETIMEDOUT', 'ESHUTDOWN', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EIO']);

/**
 * The exit status for an error. `duringAuth` says the error ended an authentication attempt: a
 * 4xx/5xx to AUTH, or `ENOTSUP` because no mechanism (or no TLS) allowed the credentials to be sent.
 *
 * @example
 * ```ts
 * exitCodeFor(new SmtpError('ESERVERTEMP', '451 try later'), false); // ExitCode.TempFail
 * ```
 */
export function exitCodeFor(error: unknown, duringAuth: boolean): ExitCode {
  if (!(error instanceof SmtpError)) return ExitCode.Software;
  const code = error.code;
  if (duringAuth && (code === 'ESERVERPERM' || code === 'ESERVERTEMP' || code === 'ENOTSUP')) return ExitCode.NoPerm;
  if (code === 'EINVAL') return ExitCode.Usage;
  if (code === 'ESERVERTEMP' || TRANSIENT_CODES.has(code)) return ExitCode.TempFail;
  if (code === 'ESERVERSYNC' || code === 'EPROTO') return ExitCode.Protocol;
  // ESERVERPERM, ENOTSUP, EMSGSIZE, and TLS verification failures: retrying will not help.
  return ExitCode.Unavailable;
}

/**
 * The exit status for a refusal that came as a reply (a recipient refused): 5xx is for good, 4xx for now.
 *
 * @example
 * ```ts
 * replyExitCode({ code: 450, lines: ['mailbox busy'] }); // ExitCode.TempFail
 * ```
 */
export function replyExitCode(reply: SmtpReply): ExitCode {
  return reply.code >= 500 ? ExitCode.Unavailable : ExitCode.TempFail;
}

/** Statuses in order of precedence: a run with several kinds of failure reports the first found. */
const PRECEDENCE: readonly ExitCode[] = [ExitCode.NoPerm, ExitCode.Protocol, ExitCode.Unavailable, ExitCode.TempFail];

/**
 * The status of a run that sent many messages: 0 when none failed; otherwise the most serious,
 * so that 75 (try again) only comes back when every failure was temporary.
 *
 * @example
 * ```ts
 * worstExitCode([ExitCode.TempFail, ExitCode.Unavailable]); // ExitCode.Unavailable
 * ```
 */
export function worstExitCode(codes: Iterable<ExitCode>): ExitCode {
  const seen = new Set(codes);
  if (seen.size === 0) return ExitCode.Ok;
  return PRECEDENCE.find((code) => seen.has(code)) ?? [...seen][0]!;
}
