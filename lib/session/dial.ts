import * as tls from 'node:tls';
import { EMPTY, type Observable, defer, ignoreElements } from 'rxjs';
import type { ServerTarget } from '../address';
import { defaultClientName } from '../client-name';
import { authenticate } from '../dialogue/auth/authenticate';
import type { Credentials } from '../dialogue/auth/mechanism';
import type { DialogueContext } from '../dialogue/context';
import { ehlo } from '../dialogue/ehlo';
import { greeting } from '../dialogue/greeting';
import { announce, sequence } from '../dialogue/sequence';
import { starttls } from '../dialogue/starttls';
import type { TlsInfo, Transition } from '../dialogue/transition';
import { SmtpError } from '../errors';
import type { ResolvedOptions, TlsMode } from '../options';
import { Connection, type ConnectionOptions } from '../transport/connection';
import { peerSubject, secureDefaults } from '../transport/socket';
import { TlsSessionCache } from '../transport/tls-sessions';

/**
 * Opens the socket to the target (TLS from the first byte for implicit TLS) and the connection on it.
 *
 * @example
 * ```ts
 * const conn = openConnection(target, options, sinks);
 * ```
 */
export function openConnection(target: ServerTarget, options: ResolvedOptions, sinks: ConnectionOptions['sinks']): Connection {
  const mode = tlsMode(options, target);
  const { socket, readyEvent } = options.transport.open(target, mode === 'implicit' ? tlsOptionsFor(options, target) : undefined);
  return new Connection(socket, readyEvent, {
    timeout: options.timeout,
    limits: options.limits,
    scheduler: options.scheduler,
    transport: options.transport,
    // A plain connection (thousands may sit idle) holds no listener for TLS sessions.
    ...(mode !== 'none' && { onTlsSession: (session: Buffer) => options.tlsSessions.set(sessionKeyOf(options, target), session) }),
    ...(sinks && { sinks }),
  });
}

/**
 * The connect dialogue as one Observable of transitions: `connecting`, the TCP (or TLS) connect,
 * the greeting, EHLO (or HELO), STARTTLS and EHLO again when upgrading, AUTH when credentials were
 * given. Each phase is its own composition (lib/dialogue/); this is their `concat`. `onContext`
 * receives what the phases share once the greeting is in (the session reads its capabilities).
 *
 * @example
 * ```ts
 * dialogue$(conn, target, options, credentials, (ctx) => (session.ctx = ctx)).subscribe((t) => console.log(t.status));
 * ```
 */
export function dialogue$(
  conn: Connection,
  target: ServerTarget,
  options: ResolvedOptions,
  credentials: Credentials | undefined,
  onContext: (ctx: DialogueContext) => void,
): Observable<Transition> {
  return announce<Transition>(
    { status: 'connecting' },
    sequence(
      conn.ready$.pipe(ignoreElements()),
      greeting(conn),
      defer(() => {
        const ctx: DialogueContext = {
          conn,
          options,
          target,
          clientName: options.clientName ?? defaultClientName(conn.currentSocket.localAddress),
          capabilities: null,
        };
        onContext(ctx);
        return sequence(ehlo(ctx), upgrade(ctx), login(ctx, credentials));
      }),
    ),
  );
}

/** The TLS mode of a connect: the session's option, or implicit for `smtps://` and port 465, else STARTTLS. */
function tlsMode(options: ResolvedOptions, target: ServerTarget): TlsMode {
  return options.tls ?? (target.implicitTls ? 'implicit' : 'starttls');
}

/** What decides the TLS of a connection to `target`: verification and SNI by default, then the caller's options. */
function baseTlsOptions(options: ResolvedOptions, target: ServerTarget): tls.ConnectionOptions {
  return { ...secureDefaults(target.host), ...options.tlsOptions };
}

/**
 * What is made once per `tlsOptions` object and reused by every connection given it (a session's
 * reconnects, a pool's connections): the TLS context (`tls.createSecureContext`, which parses the CA
 * and the client certificate; about 300 µs, a tenth of a resumed STARTTLS session), and the session
 * cache's key for each server (a hash over every option, the CA's bytes included).
 */
interface TlsMemo {
  context: tls.SecureContext | undefined;
  readonly keys: Map<string, string>;
}

const tlsMemos = new WeakMap<tls.ConnectionOptions, TlsMemo>();

function tlsMemoOf(options: ResolvedOptions): TlsMemo {
  let memo = tlsMemos.get(options.tlsOptions);
  if (memo === undefined) {
    memo = { context: undefined, keys: new Map() };
    tlsMemos.set(options.tlsOptions, memo);
  }
  return memo;
}

/** The TLS session cache's key for `target` under the session's TLS options (see {@link TlsSessionCache.keyOf}). */
function sessionKeyOf(options: ResolvedOptions, target: ServerTarget): string {
  const { keys } = tlsMemoOf(options);
  const server = `${target.host}:${target.port}`;
  let key = keys.get(server);
  if (key === undefined) {
    key = TlsSessionCache.keyOf(target.host, target.port, baseTlsOptions(options, target));
    keys.set(server, key);
  }
  return key;
}

/**
 * The TLS options of a handshake with `target`: the context made once from the session's
 * `tlsOptions` (unless they bring their own `secureContext`), and its last session with that server
 * to resume, when there is one.
 */
function tlsOptionsFor(options: ResolvedOptions, target: ServerTarget): tls.ConnectionOptions {
  const base = baseTlsOptions(options, target);
  const memo = tlsMemoOf(options);
  const secureContext = base.secureContext ?? (memo.context ??= tls.createSecureContext(options.tlsOptions));
  const session = options.tlsSessions.get(sessionKeyOf(options, target));
  return session === undefined ? { ...base, secureContext } : { ...base, secureContext, session };
}

/** STARTTLS when the mode asks for it and the server offers it; `starttls-required` without it is ENOTSUP. */
function upgrade(ctx: DialogueContext): Observable<Transition> {
  return defer(() => {
    const mode = tlsMode(ctx.options, ctx.target);
    if (mode === 'implicit' || mode === 'none') return EMPTY;
    if (ctx.capabilities?.has('STARTTLS') === true) return starttls(ctx, tlsOptionsFor(ctx.options, ctx.target));
    if (mode === 'starttls-required') {
      throw new SmtpError('ENOTSUP', "the server does not offer STARTTLS and the session's tls option is 'starttls-required'");
    }
    return EMPTY;
  });
}

/** AUTH when credentials were given, never in clear text unless allowInsecureAuth says so. */
function login(ctx: DialogueContext, credentials: Credentials | undefined): Observable<Transition> {
  return defer(() => {
    if (credentials === undefined) return EMPTY;
    if (!ctx.conn.isSecure && !ctx.options.allowInsecureAuth) {
      throw new SmtpError(
        'ENOTSUP',
        'refusing to send credentials over an unencrypted connection: the server offered no STARTTLS ' +
          "(or the tls option is 'none'); use TLS, or set allowInsecureAuth: true to allow it",
      );
    }
    return authenticate(ctx, credentials);
  });
}

/**
 * What is known of the TLS layer of a socket whose handshake is done.
 *
 * @example
 * ```ts
 * tlsInfo(socket); // { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', authorized: true, subject: 'CN=localhost' }
 * ```
 */
export function tlsInfo(socket: tls.TLSSocket): TlsInfo {
  let info = tlsInfos.get(socket);
  if (info === undefined) {
    info = Object.freeze(readTlsInfo(socket));
    tlsInfos.set(socket, info);
  }
  return info;
}

/**
 * What {@link tlsInfo} read of each socket: the handshake is done and its outcome fixed, and a state
 * carries it at every transition after STARTTLS (the peer certificate is decoded into an object at
 * each `getPeerCertificate()`).
 */
const tlsInfos = new WeakMap<tls.TLSSocket, TlsInfo>();

function readTlsInfo(socket: tls.TLSSocket): TlsInfo {
  const subject = peerSubject(socket);
  const cipher = socket.getCipher()?.name ?? 'unknown';
  return { protocol: socket.getProtocol(), cipher, authorized: socket.authorized, resumed: socket.isSessionReused(), ...(subject !== undefined && { subject }) };
}
