import { debuglog } from 'node:util';
import type { Observable } from 'rxjs';
import type { SessionState } from './dialogue/transition';
import type { TranscriptLine } from './transport/transcript';

// NODE_DEBUG=rx-smtp turns it on; Node reads the variable once, at start-up.
const log = debuglog('rx-smtp');

/** Numbers sessions in the log, so that the lines of a pool's connections can be told apart. */
let lastSessionId = 0;

/** What {@link traced} reads of a session. */
export interface Traceable {
  readonly state$: Observable<SessionState>;
  readonly transcript$: Observable<TranscriptLine>;
}

/**
 * Logs a session's state transitions and its transcript through `util.debuglog('rx-smtp')`, when
 * `NODE_DEBUG=rx-smtp` (or `NODE_DEBUG=rx-*`) is set; otherwise does nothing and costs nothing.
 * The transcript is the session's own, so secrets are already `[redacted]` and server text is
 * sanitised. The subscriptions end with the session's streams, on `dispose()`.
 *
 * @example
 * ```ts
 * // NODE_DEBUG=rx-smtp node app.js
 * // RX-SMTP 4242: session 1 state connected 127.0.0.1:2525 TLSv1.3 PLAIN
 * // RX-SMTP 4242: session 1 C: MAIL FROM:<a@example.com>
 * const session = traced(new Session(options));
 * ```
 */
export function traced<T extends Traceable>(session: T): T {
  if (!log.enabled) return session;
  const id = ++lastSessionId;
  session.state$.subscribe((state) => log('session %d state %s', id, describeState(state)));
  session.transcript$.subscribe((t) => log('session %d %s %s', id, t.direction === 'client' ? 'C:' : 'S:', t.line));
  return session;
}

function describeState(state: SessionState): string {
  const parts: string[] = [state.status];
  if (state.server !== undefined) parts.push(`${state.server.host}:${state.server.port}`);
  if (state.tls !== undefined) parts.push(`${state.tls.protocol ?? 'TLS'} ${state.tls.cipher}`);
  if (state.mechanism !== undefined) parts.push(state.mechanism);
  if (state.error !== undefined) parts.push(`error ${state.error.code}: ${state.error.message}`);
  return parts.join(' ');
}
