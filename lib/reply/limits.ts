import { SmtpError } from '../errors';

/**
 * Longest reply line accepted, in octets, CRLF excluded. RFC 5321 4.5.3.1.5 sets 512 for reply lines,
 * but real servers send longer EHLO keywords and banners; 4096 accepts them and still bounds memory.
 *
 * @example
 * ```ts
 * createSession({ maxLineLength: DEFAULT_MAX_LINE_LENGTH * 2 });
 * ```
 */
export const DEFAULT_MAX_LINE_LENGTH = 4096;

/**
 * Most lines accepted in one reply. A large EHLO reply has a few dozen; 256 leaves room for anything
 * honest while stopping a server that never sends the final line.
 *
 * @example
 * ```ts
 * createSession({ maxLines: DEFAULT_MAX_LINES * 2 });
 * ```
 */
export const DEFAULT_MAX_LINES = 256;

/**
 * Most octets accepted in one reply, line terminators included: 64 KiB holds any honest reply
 * and caps what a hostile server can make the client hold.
 *
 * @example
 * ```ts
 * createSession({ maxReplyBytes: DEFAULT_MAX_REPLY_BYTES * 2 });
 * ```
 */
export const DEFAULT_MAX_REPLY_BYTES = 65_536;

/**
 * The bounds the reply parser enforces (`parseReplies` options, `maxLineLength`... of `SessionOptions`);
 * crossing any of them is `ESERVERSYNC`.
 *
 * @example
 * ```ts
 * const limits: ReplyLimits = { maxLineLength: 512, maxLines: 64, maxReplyBytes: 16_384 };
 * ```
 */
export interface ReplyLimits {
  /** Longest line, in octets, CRLF excluded. */
  maxLineLength: number;
  /** Most lines in one reply. */
  maxLines: number;
  /** Most octets in one reply, line terminators included. */
  maxReplyBytes: number;
}

/**
 * Fills in the defaults and checks that every limit is a positive integer.
 *
 * @throws SmtpError `EINVAL` when a limit is not a positive integer.
 * @example
 * ```ts
 * resolveReplyLimits({ maxLines: 32 }); // { maxLineLength: 4096, maxLines: 32, maxReplyBytes: 65536 }
 * ```
 */
export function resolveReplyLimits(limits: Partial<ReplyLimits> = {}): ReplyLimits {
  const resolved: ReplyLimits = {
    maxLineLength: limits.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
    maxLines: limits.maxLines ?? DEFAULT_MAX_LINES,
    maxReplyBytes: limits.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new SmtpError('EINVAL', `${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return resolved;
}
