import type { Credentials } from './dialogue/auth/mechanism';
import { invalid } from './errors';

// Checked literally: these never reach the wire raw (they travel base64-encoded), but a CR, LF or
// NUL in a credential is always a caller's mistake or an attack, and the contract says EINVAL.
const LINE_BREAK_OR_NUL = /[\r\n\0]/;

/**
 * Validates the user name and password given to `connect()`: both or neither, no CR, LF or NUL.
 * Returns undefined when no authentication is wanted.
 */
export function checkCredentials(username: string | null | undefined, password: string | null | undefined): Credentials | undefined {
  const user = username ?? '';
  const pass = password ?? '';
  if (typeof user !== 'string' || typeof pass !== 'string') throw invalid('user name and password must be strings');
  if (user === '' && pass === '') return undefined;
  if (user === '') throw invalid('a password was given without a user name');
  if (pass === '') throw invalid('a user name was given without a password');
  if (LINE_BREAK_OR_NUL.test(user)) throw invalid('the user name contains CR, LF or NUL');
  if (LINE_BREAK_OR_NUL.test(pass)) throw invalid('the password contains CR, LF or NUL');
  return { username: user, password: pass };
}
