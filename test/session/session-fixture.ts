import { expect } from 'chai';
import { type Observable } from 'rxjs';
import * as sinon from 'sinon';
import type { SessionState } from '../../lib/dialogue/transition';
import type { SessionOptions } from '../../lib/options';
import { type SmtpSession, createSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';
import type { ScriptedServer } from '../fixtures/scripted-server';

/**
 * What the session-level outcome tests share (issue 2): sessions and servers cleaned up after each
 * test, then the leak check; a spy on `net.connect` to prove that a call opened no socket; and
 * a recorder of what a subscription emitted and how it ended.
 *
 * @example
 * ```ts
 * const f = sessionFixture();
 * it('...', async () => {
 *   const server = f.track(await defaultServer());
 *   const run = record(f.session().connect(`127.0.0.1:${server.port}`));
 *   await run.ended;
 * });
 * ```
 */

/** The real module object: the library reads `net.connect` through it at call time (CommonJS). */
export const netModule = require('node:net') as typeof import('node:net');

/** Plain TCP and a client name that does not depend on the machine, for exact transcripts. */
export const CLIENT = 'client.test';
export const EHLO = `EHLO ${CLIENT}`;
/** Long enough that no loaded machine meets it unless the test fakes time. */
export const TIMEOUT_MS = 10_000;

/** What one subscription emitted, and how it ended. */
export interface Recorded<T> {
  readonly values: T[];
  readonly error: unknown;
  readonly completed: boolean;
  /** Resolves when it ends, never rejects. */
  readonly ended: Promise<void>;
  unsubscribe(): void;
}

/** Subscribes now and records everything. */
export function record<T>(observable: Observable<T>): Recorded<T> {
  const values: T[] = [];
  let error: unknown;
  let completed = false;
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  const subscription = observable.subscribe({
    next: (value) => values.push(value),
    error: (err: unknown) => ((error = err), end()),
    complete: () => ((completed = true), end()),
  });
  return {
    values,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    ended,
    unsubscribe: () => subscription.unsubscribe(),
  };
}

/** `status` plus `:mechanism` when there is one: `authenticating:PLAIN`. */
export function steps(states: readonly SessionState[]): string[] {
  return states.map((s) => (s.mechanism === undefined ? s.status : `${s.status}:${s.mechanism}`));
}

/** Per-test fixtures; call inside a `describe`. */
export interface SessionFixture {
  /** A session (plain TCP unless `options` say otherwise), disposed after the test. */
  session(options?: SessionOptions): SmtpSession;
  /** Closes the server after the test. */
  track<S extends { close(): Promise<void> }>(server: S): S;
  /** A spy on `net.connect`, restored after the test. */
  connectSpy(): sinon.SinonSpy;
}

/** Registers the cleanup hooks (then {@link checkLeaks}) and returns the fixtures. */
export function sessionFixture(): SessionFixture {
  let sessions: SmtpSession[] = [];
  let servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    sinon.restore();
    for (const session of sessions) session.dispose();
    await Promise.all(servers.map((server) => server.close()));
    const failures = servers.flatMap((server) => (server as Partial<ScriptedServer>).failures ?? []);
    sessions = [];
    servers = [];
    expect(failures, 'scripted server mismatches').to.deep.equal([]);
  });
  checkLeaks();
  return {
    session(options = {}) {
      const session = createSession({ tls: 'none', clientName: CLIENT, timeout: TIMEOUT_MS, ...options });
      sessions.push(session);
      return session;
    },
    track(server) {
      servers.push(server);
      return server;
    },
    connectSpy: () => sinon.spy(netModule, 'connect'),
  };
}
