import { type ParsedMailbox, parseAddressList } from 'email-addresses';
import { invalid } from '../errors';

/**
 * The characters that make an address something other than a bare mailbox: a display name, angle
 * brackets, a comment, a list, a group, a quoted string or folding white space. Without any of
 * them the text is taken as the mailbox itself (and checked by `checkMailbox` as before), so the
 * common case costs no parse.
 */
const NOT_BARE = /[\s<>(),;:"\\]/;

// RFC 5322 3.2.3 dot-atom, with RFC 6532's UTF-8 characters as atext.
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+)*$/u;

/** How much of the caller's text an error message quotes. */
const MAX_QUOTED_INPUT = 100;

/**
 * The envelope addresses of what people write in a To or From header: `bob@example.com`,
 * `Bob <bob@example.com>`, `"Doe, John" <john@example.com>`, comma-separated lists of those, and
 * groups (`team: a@example.com, b@example.com;`). Parsed as an RFC 5322 address list (RFC 6532
 * UTF-8 allowed) by `email-addresses`; display names and comments are dropped, a local part that
 * needs quoting is quoted again. Throws `EINVAL` naming the mistake when the text is not an
 * address list, and for an address with a comma in it: an envelope address never holds one, so
 * that a list can never pass as one address.
 *
 * @example
 * ```ts
 * envelopeAddresses('Bob <bob@example.com>, "Doe, John" <john@example.com>', 'the recipients');
 * // ['bob@example.com', 'john@example.com']
 * ```
 */
export function envelopeAddresses(text: unknown, what: string): string[] {
  if (typeof text !== 'string') throw invalid(`${what} must be a string`);
  if (!NOT_BARE.test(text)) return [text];
  const parsed = parseAddressList({ input: text, rfc6532: true });
  if (parsed === null) throw invalid(`${what} ${quoted(text)} is not an address: ${mistakeIn(text)}`);
  const mailboxes = parsed.flatMap((entry) => (entry.type === 'group' ? entry.addresses : [entry]));
  return mailboxes.map((mailbox) => {
    const address = envelopeForm(mailbox);
    if (address.includes(',')) throw invalid(`${what} ${quoted(text)} holds an address with a comma (${quoted(address)}), which is refused`);
    return address;
  });
}

/**
 * The one envelope address of a sender written as people do (`Alice <alice@example.com>`); `EINVAL`
 * for a list, a group, or text that is not an address.
 *
 * @example
 * ```ts
 * envelopeSender('"Alice" <alice@example.com>'); // 'alice@example.com'
 * ```
 */
export function envelopeSender(text: unknown): string {
  const addresses = envelopeAddresses(text, 'the sender');
  if (addresses.length !== 1) throw invalid(`the sender ${quoted(String(text))} must be exactly one address, not ${addresses.length}`);
  return addresses[0]!;
}

/** `local@domain` as RFC 5321 writes it: comments and folding gone, the local part quoted only when it must be. */
function envelopeForm(mailbox: ParsedMailbox): string {
  const local = mailbox.local;
  const wasQuoted = mailbox.parts.local.tokens.trim().startsWith('"');
  // An obsolete local part (RFC 5322 4.4) may have spaces around its dots: "a . b" is a.b.
  const compact = local.replace(/\s*\.\s*/g, '.');
  const bare = DOT_ATOM.test(local) ? local : !wasQuoted && DOT_ATOM.test(compact) ? compact : `"${local.replace(/["\\]/g, '\\$&')}"`;
  return `${bare}@${mailbox.domain.replace(/\s+/g, '')}`;
}

/** The likeliest mistake in text the parser refused, in words a person can act on. */
function mistakeIn(text: string): string {
  if (text.trim() === '') return 'it is empty';
  if ((text.match(/"/g) ?? []).length % 2 === 1) return 'a quoted string is not closed';
  if ((text.match(/</g) ?? []).length !== (text.match(/>/g) ?? []).length) return 'a < has no matching > (or the reverse)';
  if (/>\s*[^\s,;(]/.test(text)) return 'there is text after a closing >';
  if (/(^|,)\s*(,|$)/.test(text)) return 'an entry between commas is empty';
  if (text.includes(';') && !text.includes(':')) return 'addresses are separated by ";": use ","';
  const noAt = text.split(',').find((entry) => !entry.includes('@'));
  if (noAt !== undefined) return `${quoted(noAt.trim())} has no @`;
  return 'it is not an RFC 5322 address list (e.g. bob@example.com, Bob <bob@example.com>)';
}

function quoted(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED_INPUT ? `${text.slice(0, MAX_QUOTED_INPUT)}...` : text);
}
