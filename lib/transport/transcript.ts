/**
 * One line of the conversation, as sent or received, without its CRLF. Secrets (AUTH payloads)
 * are replaced by `[redacted]`; server text has control characters replaced and is truncated.
 *
 * @example
 * ```ts
 * session.transcript$.subscribe((t: TranscriptLine) => console.log(t.direction === 'client' ? 'C:' : 'S:', t.line));
 * ```
 */
export interface TranscriptLine {
  /** Who wrote the line: `client` for commands, `server` for replies. */
  direction: 'client' | 'server';
  /** The line as written or read, without its CRLF, redacted and sanitised. */
  line: string;
  /** `Date.now()` when the line was written or its reply parsed. */
  at: number;
}

/** What the transcript shows in place of a secret. */
export const REDACTED = '[redacted]';
