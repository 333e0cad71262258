import type { ServerTarget } from '../address';
import type { ResolvedOptions } from '../options';
import type { Connection } from '../transport/connection';

/** What the phases of one connect share: the connection, the options, and what EHLO learned. */
export interface DialogueContext {
  readonly conn: Connection;
  readonly options: ResolvedOptions;
  readonly target: ServerTarget;
  /** The EHLO argument for this connection. */
  readonly clientName: string;
  /** Extensions from the latest EHLO; null before it, empty after a HELO fallback. */
  capabilities: Map<string, string> | null;
}
