import type { Subject } from 'rxjs';
import type { TranscriptLine } from './transcript';
import { logTranscript } from './transcript-log';
import type { ReplySink, Waiter } from './waiters';

const CRLF = '\r\n';

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

/**
 * Writes `items` to `socket` in order: each run of command lines as one string (one `write` call,
 * not one per line), raw bytes as they are. Each item owed a reply becomes a waiter for `to`, handed
 * to `owe` before its line is written (the last one `final`), and each command goes on the
 * transcript as written (redacted). Returns whether any reply is owed.
 *
 * @example
 * ```ts
 * if (!writeItems(socket, items, to, transcript$, (waiter) => waiting.push(waiter))) to.complete();
 * ```
 */
export function writeItems(
  socket: { write(data: string | Uint8Array): boolean },
  items: readonly WriteItem[],
  to: ReplySink,
  transcript$: Subject<TranscriptLine>,
  owe: (waiter: Waiter) => void,
): boolean {
  let lastOwed = -1;
  for (let i = 0; i < items.length; i++) if (owesReply(items[i]!)) lastOwed = i;
  let lines = '';
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if ('raw' in item) {
      if (lines.length > 0) socket.write(lines);
      lines = '';
      if (item.raw.length > 0) socket.write(item.raw);
      continue;
    }
    const final = i === lastOwed;
    if ('reply' in item) {
      owe({ command: item.reply, to, redactReply: false, last: false, final });
      continue;
    }
    owe({ command: item.redacted ?? item.line, to, redactReply: item.redactReply === true, last: item.last === true, final });
    logTranscript(transcript$, 'client', item.redacted ?? item.line, false);
    lines += item.line + CRLF;
  }
  if (lines.length > 0) socket.write(lines);
  return lastOwed >= 0;
}
