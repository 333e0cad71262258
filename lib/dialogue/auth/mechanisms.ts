import { CRAM_MD5 } from './cram-md5';
import { LOGIN } from './login';
import type { SaslMechanism } from './mechanism';
import { PLAIN } from './plain';
import { SCRAM_SHA_1, SCRAM_SHA_256 } from './scram';
import { XOAUTH2 } from './xoauth2';

/**
 * Every mechanism rx-smtp implements, strongest first.
 *
 * @example
 * ```ts
 * MECHANISMS.map((mechanism) => mechanism.name);
 * // ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5', 'PLAIN', 'LOGIN', 'XOAUTH2']
 * ```
 */
export const MECHANISMS: readonly SaslMechanism[] = Object.freeze([SCRAM_SHA_256, SCRAM_SHA_1, CRAM_MD5, PLAIN, LOGIN, XOAUTH2]);

/**
 * The names tried when the caller names none, strongest first. XOAUTH2 is left out: its
 * "password" is an access token, so it is only used when asked for explicitly.
 *
 * @example
 * ```ts
 * chooseMechanism(['LOGIN', 'XOAUTH2'], DEFAULT_PREFERENCE)?.name; // 'LOGIN'
 * ```
 */
export const DEFAULT_PREFERENCE: readonly string[] = Object.freeze(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5', 'PLAIN', 'LOGIN']);

/**
 * The first mechanism in `preference` that the server advertises (compared case-insensitively)
 * and rx-smtp implements, or undefined when there is none.
 *
 * @example
 * ```ts
 * chooseMechanism(['plain', 'login', 'scram-sha-1'])?.name; // 'SCRAM-SHA-1'
 * chooseMechanism(['PLAIN', 'XOAUTH2'], ['XOAUTH2'])?.name; // 'XOAUTH2'
 * chooseMechanism(['GSSAPI']); // undefined
 * ```
 */
export function chooseMechanism(
  advertised: readonly string[],
  preference: readonly string[] = DEFAULT_PREFERENCE,
): SaslMechanism | undefined {
  const offered = new Set(advertised.map((name) => name.toUpperCase()));
  for (const name of preference) {
    const wanted = name.toUpperCase();
    if (!offered.has(wanted)) continue;
    const mechanism = MECHANISMS.find((candidate) => candidate.name === wanted);
    if (mechanism !== undefined) return mechanism;
  }
  return undefined;
}
