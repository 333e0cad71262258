import type { Observable, ObservableInput } from 'rxjs';
import type { Mail } from '../mail/mail';
import type { Connection } from '../transport/connection';
import type { MailTask } from './task';
import type { SendWindow } from './window';

/**
 * How far commands are pipelined (RFC 2920):
 * - `across-mails`: MAIL, RCPT and DATA in one write, and the next mail's commands in the same
 *   write as the previous end of data: one round trip per message, fewer with CHUNKING;
 * - `within-mail`: MAIL, RCPT and DATA in one write, but the next MAIL only once the end of data is
 *   answered (for servers that refuse commands sent behind it, as Haraka 3.3.4 does);
 * - `off`: each command waits for the reply to the one before (servers without PIPELINING).
 */
export type PipeliningMode = 'across-mails' | 'within-mail' | 'off';

/** What a call may ask of each of its mails on the way. */
export interface CallHooks {
  /**
   * Awaited before anything of the mail is written: once it completes, the mail's end of data may
   * leave. When it errors, nothing of the mail is written and the mail fails (`EIO`, its error as
   * the cause). A durable queue marks the mail here, so that a crash after it means "uncertain".
   */
  beforeEndOfData?: (mail: Mail, index: number) => ObservableInput<unknown>;
}

/**
 * The sender's source of mails: the session's queue of calls, read one mail at a time.
 *
 * @example
 * ```ts
 * const next = source.take(); // a MailTask, 'wait' or 'done'
 * ```
 */
export interface TaskSource {
  /** The next mail to send, 'wait' when none is here yet, 'done' when the calls at the head of the queue have no more. */
  take(): MailTask | 'wait' | 'done';
  /** Gives a mail back to be taken first again (its envelope was refused for being pipelined). */
  putBack(task: MailTask): void;
  /** Emits when a `take()` that said 'wait' may find something. */
  readonly changed$: Observable<void>;
}

/** The settings of one sender, from the server's extensions and the session's options. */
export interface TransferSettings {
  /** How far to pipeline; `off` when the server does not offer PIPELINING. */
  pipelining: PipeliningMode;
  /** BDAT (RFC 3030) instead of DATA. */
  chunking: boolean;
  /** RFC 2033: one reply per accepted recipient after the end of data. */
  lmtp: boolean;
}

/**
 * What the transaction strategies share on one connection.
 *
 * @example
 * ```ts
 * const ctx: TransferContext = { conn, capabilities, settings, source, window, unansweredEndOfData: 0, transactions: 0, downgrade };
 * ```
 */
export interface TransferContext {
  readonly conn: Connection;
  readonly capabilities: ReadonlyMap<string, string>;
  readonly settings: TransferSettings;
  readonly source: TaskSource;
  /** The mails written whole under CHUNKING and not answered yet, bounded in mails and bytes. */
  readonly window: SendWindow;
  /** Ends of data written whose replies have not been read: a MAIL written now is pipelined behind one. */
  unansweredEndOfData: number;
  /** Transactions begun on this connection, to tell whether one was written after another. */
  transactions: number;
  /** The server refused commands pipelined behind an end of data: stop doing that on this connection. */
  downgrade(): void;
}
