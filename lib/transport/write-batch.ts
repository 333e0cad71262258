import type { Observable, Subscription } from 'rxjs';
import { SmtpError } from '../errors';
import type { SmtpSocket } from './socket';

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

/** What `Connection.writeBatch` writes: a command, raw bytes, or a reply owed by earlier bytes. */
export type WriteItem = CommandSpec | { raw: Uint8Array } | { reply: string };

const CRLF = '\r\n';

/**
 * Writes a batch in one corked socket write, so that a message's end of data and the next
 * message's envelope leave in the same TCP segment. `expect` is called, in order, for every item
 * that is owed a reply (commands and `{ reply }` placeholders) before any byte of the batch leaves.
 *
 * @example
 * ```ts
 * writeItems(socket, [{ raw: body }, { line: '.' }], (item) => replies.push(waiterFor(item)));
 * ```
 */
export function writeItems(
  socket: SmtpSocket,
  items: readonly WriteItem[],
  expect: (item: CommandSpec | { reply: string }) => void,
): void {
  socket.cork();
  for (const item of items) {
    if ('raw' in item) {
      if (item.raw.length > 0) socket.write(item.raw);
      continue;
    }
    expect(item);
    if ('line' in item) socket.write(item.line + CRLF);
  }
  socket.uncork();
}

/**
 * Resolves when the socket's buffer has drained. A server that reads nothing for `timeoutMs` calls
 * `onStall` (which fails the connection, and so `failure$`); a failure rejects with its error;
 * `isEnded` is asked once the wait is over, and a connection that ended rejects with `closedError()`.
 *
 * @example
 * ```ts
 * await whenDrained(socket, failure$, 60_000, () => conn.fail(stalled), () => conn.isClosed, closedError);
 * ```
 */
export function whenDrained(
  socket: SmtpSocket,
  failure$: Observable<SmtpError>,
  timeoutMs: number,
  onStall: () => void,
  isEnded: () => boolean,
  closedError: () => SmtpError,
): Promise<void> {
  // Plain listeners and one timer rather than an Observable pipeline: a streamed body waits here
  // once per socket buffer's worth (every 64 KiB chunk), so the wait itself must cost next to nothing.
  return new Promise<void>((resolve, reject) => {
    const stall = setTimeout(onStall, timeoutMs);
    let failed: Subscription | undefined;
    const settle = (): void => {
      clearTimeout(stall);
      socket.off('drain', onDrain);
      failed?.unsubscribe();
    };
    const onDrain = (): void => {
      settle();
      if (isEnded()) reject(closedError());
      else resolve();
    };
    socket.once('drain', onDrain);
    failed = failure$.subscribe((error) => {
      settle();
      reject(error);
    });
  });
}
