import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { TlsMode } from '../options';

/**
 * A command line that cannot be run; `main` prints the message and the usage and exits with 64.
 *
 * @example
 * ```ts
 * throw new UsageError('--to is required');
 * ```
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The options every connecting command takes. */
export const COMMON = {
  tls: { type: 'string' },
  ca: { type: 'string' },
  timeout: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const TLS_MODES: readonly TlsMode[] = ['starttls', 'starttls-required', 'implicit', 'none'];

/** node:util's parseArgs, strict, its errors (clear already: "Unknown option '--frm'") as {@link UsageError}. */
export function parse<T extends ParseArgsConfig['options']>(
  args: string[],
  options: T,
  allowPositionals: boolean,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `--tls`, `--ca` and `--timeout`, checked. */
export function common(values: { tls?: string; ca?: string; timeout?: string }): { tls?: TlsMode; ca?: string; timeout?: number } {
  const out: { tls?: TlsMode; ca?: string; timeout?: number } = {};
  if (values.tls !== undefined) {
    if (!TLS_MODES.includes(values.tls as TlsMode)) throw new UsageError(`--tls must be one of ${TLS_MODES.join(', ')}`);
    out.tls = values.tls as TlsMode;
  }
  if (values.ca !== undefined) out.ca = values.ca;
  if (values.timeout !== undefined) out.timeout = integer(values.timeout, '--timeout', 2_147_483);
  return out;
}

/** The value of a required flag. */
export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(`${flag} is required`);
  return value;
}

/** A flag's whole number from 1 to `max`. */
export function integer(text: string, flag: string, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw new UsageError(`${flag} must be a whole number from 1 to ${max}`);
  return n;
}
