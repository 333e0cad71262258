/** One command line to write, and how to treat it and its reply. */
export interface CommandSpec {
  /** The line without CRLF. */
  line: string;
  /** What the transcript and errors show instead of `line` (AUTH payloads). */
  redacted?: string;
  /** Show the reply as `[redacted]` in the transcript (AUTH challenges). */
  redactReply?: boolean;
  /**
   * The reply ends the plain-text part of the connection (STARTTLS): any byte after it is a
   * response-injection attempt, and nothing more is read from this socket.
   */
  last?: boolean;
}

/**
 * What `Connection.send` writes: a command, raw bytes (message content), or a reply owed by the
 * bytes before it (`{ reply: 'end of data' }`: under LMTP each accepted recipient gets one).
 */
export type WriteItem = CommandSpec | { raw: Uint8Array } | { reply: string };

/**
 * Whether an item is owed a reply (commands and reply placeholders are; raw bytes are not).
 *
 * @example
 * ```ts
 * items.filter(owesReply).length; // how many replies `send(items)` emits
 * ```
 */
export function owesReply(item: WriteItem): item is CommandSpec | { reply: string } {
  return !('raw' in item);
}
