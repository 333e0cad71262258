import { SmtpError } from '../errors';
import type { SmtpReply } from '../reply/reply';

/**
 * Server extensions kept from one EHLO reply; more is a hostile server, not a real one
 * (`ESERVERSYNC`, and the connection is closed).
 *
 * @example
 * ```ts
 * import { MAX_EHLO_KEYWORDS } from 'rx-smtp'; // 128
 * ```
 */
export const MAX_EHLO_KEYWORDS = 128;

// RFC 5321 4.1.1.1: ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/**
 * Reads the extensions of an EHLO reply: keyword (upper-case) → parameters. The first line is the
 * server's name and is skipped; lines that are not extensions are ignored; the obsolete `AUTH=`
 * form adds to AUTH.
 *
 * @example
 * ```ts
 * parseCapabilities({ code: 250, lines: ['mx', 'SIZE 1000', 'AUTH PLAIN LOGIN'] });
 * // Map { 'SIZE' => '1000', 'AUTH' => 'PLAIN LOGIN' }
 * ```
 */
export function parseCapabilities(reply: SmtpReply): Map<string, string> {
  const capabilities = new Map<string, string>();
  for (const line of reply.lines.slice(1)) {
    const trimmed = line.trim();
    const space = trimmed.search(/[ =]/);
    const keyword = (space < 0 ? trimmed : trimmed.slice(0, space)).toUpperCase();
    const params = space < 0 ? '' : trimmed.slice(space + 1).trim();
    if (!KEYWORD.test(keyword)) continue;
    if (keyword === 'AUTH' && capabilities.has('AUTH')) {
      const merged = new Set(`${capabilities.get('AUTH')} ${params}`.split(/\s+/).filter(Boolean));
      capabilities.set('AUTH', [...merged].join(' '));
      continue;
    }
    // A repeated keyword replaces its entry and adds nothing to hold, so it cannot pass the bound.
    if (!capabilities.has(keyword) && capabilities.size >= MAX_EHLO_KEYWORDS) {
      throw new SmtpError('ESERVERSYNC', `EHLO reply lists more than ${MAX_EHLO_KEYWORDS} extensions`, { reply, command: 'EHLO' });
    }
    capabilities.set(keyword, params);
  }
  return capabilities;
}
