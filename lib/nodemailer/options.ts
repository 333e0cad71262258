import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { ServerAddress } from '../address';
import { SmtpError, invalid } from '../errors';
import type { SessionOptions, TlsMode } from '../options';
import type { ConnectDeadlines } from './deadlines';

/**
 * nodemailer's SMTP transport options that {@link rxSmtpTransport} understands, so that
 * `nodemailer.createTransport({ host, port, secure, auth })` can become
 * `nodemailer.createTransport(rxSmtpTransport({ host, port, secure, auth }))` unchanged. How each
 * maps onto rx-smtp is said on each field.
 *
 * @example
 * ```ts
 * const options: NodemailerSmtpOptions = { host: 'smtp.example.com', port: 587, auth: { user: 'alice', pass: 's3cret' } };
 * ```
 */
export interface NodemailerSmtpOptions {
  /** The server's host name. Default `localhost`, as in nodemailer. Not with `server`. */
  host?: string;
  /** Default 587, or 465 with `secure`, as in nodemailer. Not with `server`. */
  port?: number;
  /** TLS from the first byte (rx-smtp's `tls: 'implicit'`); default: only for port 465. */
  secure?: boolean;
  /** The account: `{ user, pass }` (→ username, password); `method` limits AUTH to that mechanism; `{ type: 'OAuth2', user, accessToken }` logs in with XOAUTH2. */
  auth?: NodemailerAuth;
  /** Upgrade with STARTTLS or fail (rx-smtp's `tls: 'starttls-required'`); wins over `ignoreTLS`. */
  requireTLS?: boolean;
  /** Never upgrade (rx-smtp's `tls: 'none'`). */
  ignoreTLS?: boolean;
  /** The EHLO name (rx-smtp's `clientName`). */
  name?: string;
  /** Milliseconds to set a connection up, before AUTH (a deadline over the session's connect). */
  connectionTimeout?: number;
  /** Milliseconds from the TCP connection to the greeting (a deadline over the session's connect). */
  greetingTimeout?: number;
  /** Milliseconds to wait for the server (rx-smtp's `timeout`, which applies to each reply). */
  socketTimeout?: number;
  /** Send through an rx-smtp pool of connections instead of one connection. */
  pool?: boolean;
  /** With `pool`: connections at once (default 5). Ignored without `pool`, as in nodemailer. */
  maxConnections?: number;
  /** With `pool`: messages per connection before a fresh one (default 100; `Infinity` allowed). Ignored without `pool`. */
  maxMessages?: number;
}

/**
 * nodemailer's `auth` option, as {@link rxSmtpTransport} takes it.
 *
 * @example
 * ```ts
 * const auth: NodemailerAuth = { user: 'alice', pass: process.env.SMTP_PASSWORD };
 * ```
 */
export interface NodemailerAuth {
  /** `'login'` (the default: a password) or `'OAuth2'` (an `accessToken`, sent with XOAUTH2). */
  type?: string;
  /** The user name. */
  user?: string;
  /** The password. */
  pass?: string;
  /** One SASL mechanism to use (`PLAIN`, `LOGIN`, `CRAM-MD5`, ...); default: the strongest both sides offer. */
  method?: string;
  /** With `type: 'OAuth2'`: the access token. */
  accessToken?: string;
}

/** A checked plan for the transport: where, as whom, and with which session and pool settings. */
export interface TransportPlan {
  server: ServerAddress;
  username: string | undefined;
  password: string | undefined;
  idleTimeoutMs: number;
  session: SessionOptions;
  deadlines: ConnectDeadlines;
  /** Present when messages go through a pool. */
  pool?: { maxConnections?: number; maxMessagesPerConnection?: number };
}

/** What rx-smtp's own keys and nodemailer's share, for the plan. */
export interface PlanInput extends NodemailerSmtpOptions {
  server?: ServerAddress;
  username?: string;
  password?: string;
  idleTimeout?: number;
  tls?: TlsMode | TlsConnectionOptions;
  [key: string]: unknown;
}

/** nodemailer's default submission port (RFC 6409), and its implicit-TLS port (RFC 8314). */
const NODEMAILER_PORT = 587;
const NODEMAILER_SECURE_PORT = 465;
/** The pool's ceiling for messages per connection: nodemailer's `Infinity` means "never rotate". */
const UNLIMITED_MESSAGES = 1e9;
/** setTimeout's ceiling (2^31 - 1 ms). */
const MAX_MS = 2_147_483_647;
const AUTH_KEYS = new Set(['type', 'user', 'pass', 'method', 'accessToken']);

/**
 * Checks the transport options, rx-smtp's or nodemailer's, and plans the transport; throws an
 * `EINVAL` {@link SmtpError} for a missing server, a conflict (`server` and `host`, `tls: 'none'`
 * and `requireTLS`, ...) or a bad value. The session checks the rest, unknown keys included.
 *
 * @example
 * ```ts
 * planTransport({ host: 'smtp.example.com', auth: { user: 'alice', pass: 's3cret' } }).server; // { host: 'smtp.example.com', port: 587 }
 * ```
 */
export function planTransport(options: PlanInput, defaultIdleTimeoutMs: number): TransportPlan {
  const { server, host, port, secure, auth, requireTLS, ignoreTLS, name, connectionTimeout, greetingTimeout, socketTimeout, ...more } = options;
  const { pool, maxConnections, maxMessages, username, password, idleTimeout = defaultIdleTimeoutMs, tls, ...rest } = more;
  if (server !== undefined && (host !== undefined || port !== undefined)) throw invalid('give either server or host and port, not both');
  if (server === undefined && host === undefined) throw invalid('rxSmtpTransport options need a server (or nodemailer’s host)');
  if (!Number.isInteger(idleTimeout) || idleTimeout < 0) throw invalid('idleTimeout must be a non-negative integer (ms)');
  for (const [key, value] of [['secure', secure], ['requireTLS', requireTLS], ['ignoreTLS', ignoreTLS], ['pool', pool]] as const) {
    if (value !== undefined && typeof value !== 'boolean') throw invalid(`${key} must be a boolean`);
  }
  const session: SessionOptions = { ...(rest as SessionOptions) };
  const tlsMode = tlsModeOf(tls, secure, requireTLS, ignoreTLS);
  if (tlsMode !== undefined) session.tls = tlsMode;
  if (tls !== undefined && typeof tls === 'object') {
    if (session.tlsOptions !== undefined) throw invalid('give either tls (nodemailer’s) or tlsOptions, not both');
    session.tlsOptions = tls;
  }
  moveInto(session, 'clientName', name, 'name');
  moveInto(session, 'timeout', socketTimeout === undefined ? undefined : milliseconds(socketTimeout, 'socketTimeout'), 'socketTimeout');
  const account = accountOf(auth, username, password, session);
  const deadlines: ConnectDeadlines = {};
  if (connectionTimeout !== undefined) deadlines.connectionTimeout = milliseconds(connectionTimeout, 'connectionTimeout');
  if (greetingTimeout !== undefined) deadlines.greetingTimeout = milliseconds(greetingTimeout, 'greetingTimeout');
  const plan: TransportPlan = {
    server: server ?? { host: host!, port: port ?? (secure === true ? NODEMAILER_SECURE_PORT : NODEMAILER_PORT) },
    ...account,
    idleTimeoutMs: idleTimeout,
    session,
    deadlines,
  };
  if (pool === true) {
    plan.pool = {
      ...(maxConnections !== undefined && { maxConnections }),
      ...(maxMessages !== undefined && { maxMessagesPerConnection: maxMessages === Infinity ? UNLIMITED_MESSAGES : maxMessages }),
    };
  }
  return plan;
}

/** rx-smtp's `tls` mode, from rx-smtp's own spelling or nodemailer's three flags (never both). */
function tlsModeOf(tls: PlanInput['tls'], secure?: boolean, requireTLS?: boolean, ignoreTLS?: boolean): TlsMode | undefined {
  const flags = secure !== undefined || requireTLS === true || ignoreTLS === true;
  if (typeof tls === 'string') {
    if (flags) throw invalid('give either tls as a mode or nodemailer’s secure, requireTLS and ignoreTLS, not both');
    return tls;
  }
  if (secure === true) return 'implicit';
  if (requireTLS === true) return 'starttls-required'; // nodemailer: requireTLS wins over ignoreTLS
  if (ignoreTLS === true) return 'none';
  // secure: false on port 465 is nodemailer's plain text (then STARTTLS if offered).
  if (secure === false) return 'starttls';
  return undefined;
}

function accountOf(auth: unknown, username: string | undefined, password: string | undefined, session: SessionOptions) {
  if (auth === undefined || auth === null || auth === false) return { username, password };
  if (typeof auth !== 'object') throw invalid('auth must be an object: { user, pass }');
  if (username !== undefined || password !== undefined) throw invalid('give either auth (nodemailer’s) or username and password, not both');
  const given = auth as NodemailerAuth;
  const unknown = Object.keys(given).find((key) => !AUTH_KEYS.has(key));
  if (unknown !== undefined) throw invalid(`unknown auth option ${JSON.stringify(unknown)} (rx-smtp takes type, user, pass, method, accessToken)`);
  const type = (given.type ?? 'login').toLowerCase();
  if (type === 'oauth2') {
    if (given.accessToken === undefined) throw invalid('auth of type OAuth2 needs an accessToken (rx-smtp does not fetch tokens)');
    moveInto(session, 'authMechanisms', ['XOAUTH2'], 'auth.type');
    return { username: given.user, password: given.accessToken };
  }
  if (type !== 'login') throw invalid(`auth.type must be 'login' or 'OAuth2', got ${JSON.stringify(given.type)}`);
  if (given.method !== undefined) moveInto(session, 'authMechanisms', [given.method], 'auth.method');
  return { username: given.user, password: given.pass };
}

/** Sets an rx-smtp session option from nodemailer's name for it, refusing to have both. */
function moveInto<K extends keyof SessionOptions>(session: SessionOptions, key: K, value: SessionOptions[K] | undefined, from: string): void {
  if (value === undefined) return;
  if (session[key] !== undefined) throw invalid(`give either ${from} (nodemailer’s) or ${key}, not both`);
  session[key] = value;
}

function milliseconds(value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_MS) throw invalid(`${key} must be an integer in 1..${MAX_MS} (ms)`);
  return value;
}
