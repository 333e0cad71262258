import type * as tls from 'node:tls';
import type { SessionState, Transition } from '../dialogue/transition';
import type { SmtpError } from '../errors';
import type { TransferSettings } from '../send/context';
import type { Connection } from '../transport/connection';
import { tlsInfo } from './dial';

/** What a session's state is read from, besides the step itself. */
export interface StateFacts {
  readonly conn: Connection | undefined;
  readonly server: { host: string; port: number } | undefined;
  readonly settings: TransferSettings | undefined;
}

/**
 * The state a session shows after `step`: its status, whether TLS is in force (and what TLS), the
 * server, the mechanism it authenticated with (kept until the connection closes), how it pipelines,
 * and `error` when the step is a failure.
 *
 * @example
 * ```ts
 * const state = nextState(session.state, { status: 'connected' }, { conn, server, settings });
 * ```
 */
export function nextState(previous: SessionState, step: Transition, facts: StateFacts, error?: SmtpError): SessionState {
  const { conn, server, settings } = facts;
  const secure = step.status !== 'closed' && conn !== undefined && conn.isSecure;
  const state: SessionState = { status: step.status, secure };
  if (server !== undefined) state.server = server;
  const mechanism = step.mechanism ?? (step.status === 'closed' ? undefined : previous.mechanism);
  if (mechanism !== undefined && step.status !== 'connecting') state.mechanism = mechanism;
  if (secure) state.tls = tlsInfo(conn.currentSocket as tls.TLSSocket);
  if (settings !== undefined && step.status !== 'closed') state.pipelining = settings.pipelining;
  if (error !== undefined) state.error = error;
  return state;
}
