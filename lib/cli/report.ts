import { SmtpError } from '../errors';
import { formatReply, type SmtpReply } from '../reply/reply';
import { sanitize } from '../reply/sanitize';
import type { CliIo } from './io';

// Node's certificate verification codes: the fix is nearly always --ca.
const CERTIFICATE_PROBLEM = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/**
 * One line for an error: its code and message, with a hint where the fix is known.
 *
 * @example
 * ```ts
 * describeError(new SmtpError('ETIMEDOUT', 'no reply')); // 'ETIMEDOUT no reply'
 * ```
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return sanitize(String(error));
  const code = error instanceof SmtpError ? error.code : (error as { code?: string }).code;
  const hint = code !== undefined && CERTIFICATE_PROBLEM.test(code) ? ' (to trust a private CA, pass --ca FILE)' : '';
  return sanitize(`${code === undefined ? '' : `${code} `}${error.message}${hint}`, 1024);
}

/**
 * Prints `rx-smtp: <code> <message>` on standard error.
 *
 * @example
 * ```ts
 * reportError(io, error);
 * ```
 */
export function reportError(io: CliIo, error: unknown): void {
  io.stderr.write(`rx-smtp: ${describeError(error)}\n`);
}

/**
 * A reply on one line, as a person reads it: `250 2.0.0 Ok: queued as 1234`.
 *
 * @example
 * ```ts
 * describeReply({ code: 250, lines: ['Ok'] }); // '250 Ok'
 * ```
 */
export function describeReply(reply: SmtpReply): string {
  return sanitize(formatReply(reply).join(' | '));
}
