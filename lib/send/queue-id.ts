import type { SmtpReply } from '../reply/reply';

// How servers name the queue entry in their 250 to the end of data:
// Postfix "Ok: queued as 4dMxyz", Exim "OK id=1rAbcd-000123-AB", Sendmail "4ABCD1234 Message accepted",
// Microsoft "Queued mail for delivery -> 250 2.6.0 <id@host> [InternalId=...]".
const PATTERNS = [/\bqueued as ([A-Za-z0-9._-]+)/i, /\bid=([A-Za-z0-9._-]+)/i, /\bInternalId=([A-Za-z0-9._-]+)/];

/**
 * The queue identifier in a reply to the end of data, when it uses one of the common forms.
 *
 * @example
 * ```ts
 * queueIdOf({ code: 250, lines: ['2.0.0 Ok: queued as 4dMxyz'] }); // '4dMxyz'
 * ```
 */
export function queueIdOf(reply: SmtpReply): string | undefined {
  const text = reply.lines.join(' ');
  for (const pattern of PATTERNS) {
    const match = pattern.exec(text);
    if (match !== null) return match[1];
  }
  return undefined;
}
