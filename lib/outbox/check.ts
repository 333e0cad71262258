import { SmtpError } from '../errors';

/**
 * An `EINVAL` {@link SmtpError}: the outbox's options and arguments are checked before anything
 * reaches Redis.
 */
export function invalid(message: string): SmtpError {
  return new SmtpError('EINVAL', message);
}

/** `value` when it is an integer in `min..max`; an `EINVAL` naming `key` otherwise. */
export function integer(value: unknown, key: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(`${key} must be an integer in ${min}..${max}`);
  return value;
}
