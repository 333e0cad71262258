import type { Observable } from 'rxjs';
import type { PipeliningMode } from '../options';
import type { Connection } from '../transport/connection';
import type { MailTask } from './task';

export type { PipeliningMode } from '../options';
import type { SendWindow } from './window';



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
  /** The mails written whole under CHUNKING and not answered yet, bounded in mails and bytes; none without CHUNKING. */
  readonly window: SendWindow | undefined;
  /** Ends of data written whose replies have not been read: a MAIL written now is pipelined behind one. */
  unansweredEndOfData: number;
  /** Transactions begun on this connection, to tell whether one was written after another. */
  transactions: number;
  /** The server refused commands pipelined behind an end of data: stop doing that on this connection. */
  downgrade(): void;
}
