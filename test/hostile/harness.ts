import { once } from 'node:events';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { expect } from 'chai';
import { type Observable } from 'rxjs';
import * as sinon from 'sinon';
import { SmtpError } from '../../lib/errors';
import type { SessionOptions } from '../../lib/options';
import { createSession, type SmtpSession } from '../../lib/session';
import { activeHandles, checkLeaks, expectNoLeaks, type HandleCounts } from '../fixtures/handles';
import { acceptedSockets, hostileServer, openServers, type HostilePeer, type HostileServer } from './hostile-server';

/**
 * What every hostile test shares: servers and sessions cleaned up after each test, fake timers
 * when asked for, a record of every socket the client opened (to prove that none is left with a
 * listener), and the leak checks.
 */

// The real module objects: the library reads `net.connect` and `tls.connect` through them at call time.
const netModule = require('node:net') as typeof import('node:net');
const tlsModule = require('node:tls') as typeof import('node:tls');

/** The events the library listens to on its sockets. */
const WATCHED_EVENTS = ['data', 'end', 'close', 'error', 'connect', 'secureConnect', 'drain', 'timeout'] as const;

interface TrackedSocket {
  socket: net.Socket;
  /** Listener counts when the socket was made, before the library added its own. */
  baseline: Record<string, number>;
}

/** Every socket the client made while tracking was on, in order. */
const clientSockets: TrackedSocket[] = [];

/** The tracked sockets that have emitted 'close' (seen without a listener, which would count). */
const closeEmitted = new WeakSet<net.Socket>();

function countListeners(socket: net.Socket): Record<string, number> {
  return Object.fromEntries(WATCHED_EVENTS.map((event) => [event, socket.listenerCount(event)]));
}

/** Records every socket made by net.connect and tls.connect (the upgrade's TLS socket included). */
function trackClientSockets(): () => void {
  const connect = netModule.connect;
  const secureConnect = tlsModule.connect;
  const track = <T extends net.Socket>(socket: T): T => {
    clientSockets.push({ socket, baseline: countListeners(socket) });
    const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    socket.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
      if (event === 'close') closeEmitted.add(socket);
      return emit(event, ...args);
    }) as T['emit'];
    return socket;
  };
  netModule.connect = ((...args: Parameters<typeof connect>) => track(connect(...args))) as typeof connect;
  tlsModule.connect = ((...args: Parameters<typeof secureConnect>) => {
    // An upgrade wraps the plain socket: the listeners tls.connect puts on it ('close', 'error',
    // 'connect', Node's own for the TLS socket's life) join its baseline; the library's must be gone.
    const wrapped = clientSockets.find(({ socket }) => socket === (args[0] as tls.ConnectionOptions | undefined)?.socket);
    const before = wrapped === undefined ? undefined : countListeners(wrapped.socket);
    const secure = track(secureConnect(...args));
    if (wrapped !== undefined && before !== undefined) {
      const after = countListeners(wrapped.socket);
      for (const event of WATCHED_EVENTS) wrapped.baseline[event]! += after[event]! - before[event]!;
    }
    return secure;
  }) as typeof secureConnect;
  return () => {
    netModule.connect = connect;
    tlsModule.connect = secureConnect;
  };
}

/**
 * Every client socket from `from` on is destroyed and keeps none of the library's listeners: at
 * most its own from birth, plus the one no-op `error` listener that swallows a late write error.
 */
export async function expectClientSocketsReleased(from = 0): Promise<void> {
  const tracked = clientSockets.slice(from);
  for (const [i, { socket, baseline }] of tracked.entries()) {
    expect(socket.destroyed, `client socket ${from + i} is still open`).to.equal(true);
    // A destroyed socket emits 'close' when its handle has closed, turns after `closed` turned
    // true; whatever listens for it may let go then (Node's TLS socket does, on the plain socket).
    if (!closeEmitted.has(socket)) await once(socket, 'close');
    const now = countListeners(socket);
    for (const event of WATCHED_EVENTS) {
      const allowed = baseline[event]! + (event === 'error' ? 1 : 0);
      expect(now[event], `'${event}' listeners left on client socket ${from + i}`).to.be.at.most(allowed);
    }
  }
}

/**
 * For the top-level `describe` of a hostile test file: tracks the client's sockets, and after the
 * whole file checks that every hostile server is closed, every socket on either side destroyed
 * and released, and the process's handles back to where they were before it.
 */
export function hostileSuite(): void {
  let baseline: HandleCounts;
  let restore: () => void = () => {};
  let firstServerSocket = 0;
  let firstClientSocket = 0;
  before((done) => {
    baseline = activeHandles();
    firstServerSocket = acceptedSockets.length;
    firstClientSocket = clientSockets.length;
    restore = trackClientSockets();
    done();
  });
  after((done) => {
    restore();
    const check = async (): Promise<void> => {
      expect([...openServers].map((s) => s.port), 'hostile servers left open').to.deep.equal([]);
      for (const socket of acceptedSockets.slice(firstServerSocket)) expect(socket.destroyed, 'a server-side socket is open').to.equal(true);
      await expectClientSocketsReleased(firstClientSocket);
      await expectNoLeaks(baseline);
    };
    check().then(() => done(), done);
  });
}

/** A subscription to an Observable, watched: whether it has ended, how, and with what. */
export interface Watched<T> {
  readonly values: T[];
  readonly done: boolean;
  readonly error: SmtpError | undefined;
  /** Resolves when it ends (never rejects). */
  readonly ended: Promise<void>;
  unsubscribe(): void;
}

/** Subscribes now and records what happens. */
export function watch<T>(observable: Observable<T>): Watched<T> {
  const values: T[] = [];
  let done = false;
  let error: SmtpError | undefined;
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  const subscription = observable.subscribe({
    next: (value) => values.push(value),
    error: (err: unknown) => {
      expect(err, 'errors are SmtpErrors').to.be.instanceOf(SmtpError);
      error = err as SmtpError;
      done = true;
      end();
    },
    complete: () => {
      done = true;
      end();
    },
  });
  return {
    values,
    get done() {
      return done;
    },
    get error() {
      return error;
    },
    ended,
    unsubscribe: () => subscription.unsubscribe(),
  };
}

export { errorOf } from '../fixtures/observe';

/** Per-test fixtures: servers, sessions, optional fake timers, and the cleanup and leak checks. */
export interface Harness {
  /** The fake clock (only with `fakeTime`). */
  readonly clock: sinon.SinonFakeTimers;
  server(script: (peer: HostilePeer, index: number) => Promise<unknown> | void): Promise<HostileServer>;
  /** A session (tls 'none' unless the options say otherwise), disposed after the test. */
  session(options?: SessionOptions): SmtpSession;
  /** A session connected to `server`. */
  connected(server: HostileServer, options?: SessionOptions): Promise<SmtpSession>;
  /** No fake timer pending and every client socket of this test destroyed, closed and released. */
  expectReleased(): Promise<void>;
}

/**
 * Registers the per-test hooks in the calling `describe` and returns the fixtures.
 *
 * @example
 * ```ts
 * const h = harness({ fakeTime: true });
 * it('...', async () => { const server = await h.server(...); const session = h.session(); ... });
 * ```
 */
export function harness({ fakeTime = false }: { fakeTime?: boolean } = {}): Harness {
  let clock: sinon.SinonFakeTimers | undefined;
  let servers: HostileServer[] = [];
  let sessions: SmtpSession[] = [];
  let firstSocket = 0;
  beforeEach(() => {
    firstSocket = clientSockets.length;
    // Timers and dates only: sockets, setImmediate and nextTick stay real.
    if (fakeTime) clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  });
  afterEach(async () => {
    for (const session of sessions) session.dispose();
    await Promise.all(servers.map((server) => server.close()));
    const failures = servers.flatMap((server) => server.failures);
    clock?.restore();
    clock = undefined;
    servers = [];
    sessions = [];
    expect(failures, 'hostile scripts that threw').to.deep.equal([]);
  });
  checkLeaks();
  const h: Harness = {
    get clock() {
      if (clock === undefined) throw new Error('this harness has no fake timers');
      return clock;
    },
    async server(script) {
      const server = await hostileServer(script);
      servers.push(server);
      return server;
    },
    session(options = {}) {
      const session = createSession({ tls: 'none', ...options });
      sessions.push(session);
      return session;
    },
    async connected(server, options = {}) {
      const session = h.session(options);
      const connecting = watch(session.connect({ host: '127.0.0.1', port: server.port }));
      await connecting.ended;
      expect(connecting.error, 'connect failed').to.equal(undefined);
      return session;
    },
    async expectReleased() {
      if (clock !== undefined) expect(clock.countTimers(), 'timers left running').to.equal(0);
      await expectClientSocketsReleased(firstSocket);
    },
  };
  return h;
}
