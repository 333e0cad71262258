import { envelopeAddresses, envelopeSender } from '../mail/address-list';
import { UsageError } from './usage';

/** setTimeout's ceiling (2^31 - 1 ms): the session refuses a longer timeout. */
const MAX_TIMEOUT_MS = 2_147_483_647;
const MS_PER_UNIT: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * A duration as swaks and people write it: `30s`, `2m`, `500ms`, `1h`, or a bare number of seconds.
 *
 * @example
 * ```ts
 * duration('2m', '--timeout'); // 120000
 * ```
 */
export function duration(text: string, flag: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  const ms = match === null ? NaN : Number(match[1]) * MS_PER_UNIT[match[2] ?? 's']!;
  if (!(ms >= 1 && ms <= MAX_TIMEOUT_MS)) throw new UsageError(`${flag} must be a duration such as 30s, 2m or 500ms (a bare number is seconds), at most 24 days`);
  return ms;
}

/**
 * A whole number from 1 to `max`.
 *
 * @example
 * ```ts
 * integer('20', '--count', 1000); // 20
 * ```
 */
export function integer(text: string, flag: string, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw new UsageError(`${flag} must be a whole number from 1 to ${max}`);
  return n;
}

// RFC 5322 3.6.8: a field name is printable ASCII other than ":".
const FIELD_NAME = /^[!-9;-~]+$/;

/**
 * A `--header "Name: value"`, checked: a field name, a colon, and a value without CR, LF or NUL
 * (which would start a header of their own).
 *
 * @example
 * ```ts
 * header('X-Campaign: spring'); // ['X-Campaign', 'spring']
 * ```
 */
export function header(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon < 0 ? '' : text.slice(0, colon).trim();
  if (!FIELD_NAME.test(name)) throw new UsageError(`--header must be "Name: value", got ${JSON.stringify(text)}`);
  const value = text.slice(colon + 1).trim();
  if (/[\r\n\0]/.test(value)) throw new UsageError(`--header ${name} must not contain a line break or NUL`);
  return [name, value];
}

/**
 * Checks `--to` (each may be a comma-separated list, with names) and `--from` now, so that a typo is
 * a usage error before anything connects.
 *
 * @example
 * ```ts
 * checkAddresses('Alice <a@example.com>', ['b@example.com, Carol <c@example.com>']);
 * ```
 */
export function checkAddresses(from: string | undefined, to: readonly string[]): void {
  try {
    if (from !== undefined && from !== '') envelopeSender(from);
    for (const list of to) if (envelopeAddresses(list, '--to').length === 0) throw new UsageError(`--to ${JSON.stringify(list)} names no address`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
}
