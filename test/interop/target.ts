import { lastValueFrom, toArray } from 'rxjs';
import type { SessionState } from '../../lib/dialogue/transition';
import type { SessionOptions } from '../../lib/options';
import type { SmtpSession } from '../../lib/session';
import { type SharedServerHandle, type SharedServerKind, useSharedServer } from '../fixtures/shared-servers';
import { PASSWORD, USER } from '../fixtures/smtp-server';
import type { SessionFixture } from '../session/session-fixture';
import { type StoreReader, storeOf } from './store';

/**
 * A third-party server under test, and how every interop test of it connects: one per test file,
 * started in `before` and stopped in `after` (see {@link useSharedServer}).
 *
 * @example
 * ```ts
 * const dovecot = interopTarget(DOVECOT_LMTP, { options: { lmtp: true }, copyPerRecipient: true });
 * const f = sessionFixture();
 * it('connects', async () => {
 *   const { session, written } = await connectTo(f, dovecot);
 * });
 * ```
 */
export interface InteropTarget {
  handle: SharedServerHandle;
  store: StoreReader;
  /** Options every session and pool of these tests uses with this server (Dovecot: `lmtp: true`). */
  options: SessionOptions;
  /** The server stores one copy per accepted recipient (LMTP, OpenSMTPD), not one per message. */
  copyPerRecipient: boolean;
  /**
   * Header fields the shared behaviours put first in a non-empty body, for a server that adds them
   * when absent (OpenSMTPD: Date:, Message-ID:); with them a body comes back byte for byte.
   */
  header: string;
}

/** Starts a server of `kind` for the calling `describe` and reads its store. */
export function interopTarget(kind: SharedServerKind, how: Partial<Pick<InteropTarget, 'options' | 'copyPerRecipient' | 'header'>> = {}): InteropTarget {
  const handle = useSharedServer(kind);
  return { handle, store: storeOf(handle), options: {}, copyPerRecipient: false, header: '', ...how };
}

/** A connected session, every state it went through, and the lines the client wrote. */
export interface Connected {
  session: SmtpSession;
  states: SessionState[];
  /** The client's side of the transcript, AUTH redacted; it goes on growing as the session is used. */
  written: string[];
  /** Both sides, `C: ` and `S: ` first. */
  transcript: string[];
}

/** How {@link connectTo} connects: STARTTLS (trusting the server's cert.pem), AUTH as alice. */
export interface ConnectHow extends SessionOptions {
  /** Upgrade with STARTTLS (`'starttls-required'`), trusting DIR/cert.pem. */
  starttls?: boolean;
  /** Authenticate as alice / s3cret. */
  auth?: boolean;
}

/**
 * Connects a session of `f` (plain TCP unless `how.starttls`) to the target on 127.0.0.1 (its
 * certificate names 127.0.0.1 too); rejects with the connect's error.
 */
export async function connectTo(f: SessionFixture, target: InteropTarget, how: ConnectHow = {}): Promise<Connected> {
  const { server } = target.handle;
  const session = f.session(sessionOptions(target, how));
  const written: string[] = [];
  const transcript: string[] = [];
  session.transcript$.subscribe((t) => {
    if (t.direction === 'client') written.push(t.line);
    transcript.push(`${t.direction === 'client' ? 'C' : 'S'}: ${t.line}`);
  });
  const address = { host: '127.0.0.1', port: server.port };
  const connect$ = how.auth === true ? session.connect(address, USER, PASSWORD) : session.connect(address);
  const states = await lastValueFrom(connect$.pipe(toArray()));
  return { session, states, written, transcript };
}

/** The session options of {@link connectTo}: the target's, STARTTLS required and trusting DIR/cert.pem when asked, then `how`'s. */
export function sessionOptions(target: InteropTarget, how: ConnectHow): SessionOptions {
  const { starttls = false, auth: _auth, ...options } = how;
  const tls: SessionOptions = starttls ? { tls: 'starttls-required', tlsOptions: { ca: target.handle.server.ca } } : {};
  return { ...target.options, ...tls, ...options };
}

/** `status`, `+tls` when secure, `:MECHANISM` when authenticating: `authenticating+tls:PLAIN`. */
export function stepsOf(states: readonly SessionState[]): string[] {
  return states.map((s) => `${s.status}${s.secure ? '+tls' : ''}${s.mechanism === undefined ? '' : `:${s.mechanism}`}`);
}

/** A client line that ends a message's data: `.` after DATA, or `BDAT n LAST`. */
export function isEndOfData(line: string): boolean {
  return line === '.' || /^BDAT \d+ LAST$/.test(line);
}

/** How many messages' data the client ended. */
export function endsOfData(written: readonly string[]): number {
  return written.filter(isEndOfData).length;
}
