import { invalid } from '../errors';

/** `value` when it is an integer in `min..max`; an `EINVAL` naming `key` otherwise. */
export function integer(value: unknown, key: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(`${key} must be an integer in ${min}..${max}`);
  return value;
}
