import { type SchedulerLike, asyncScheduler } from 'rxjs';
import type { ServerAddress } from '../address';
import { parseServerAddress } from '../address';
import { checkCredentials } from '../credentials';
import { SmtpError } from '../errors';
import { type SessionOptions, resolveOptions } from '../options';
import { TlsSessionCache } from '../transport/tls-sessions';
import { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff';

/**
 * Options of {@link createPool}: every session option, plus where to connect and how to schedule.
 *
 * @example
 * ```ts
 * const options: PoolOptions = { server: 'smtp://mail.example.com:587', username: 'alice', password, maxConnections: 3 };
 * ```
 */
export interface PoolOptions extends SessionOptions {
  /** The server every connection goes to. */
  server: ServerAddress;
  /** Authenticate as this user (with `password`). */
  username?: string;
  /** The password (or XOAUTH2 access token) for `username`. */
  password?: string;
  /** Connections open at once. Default 5. */
  maxConnections?: number;
  /** Messages sent over one connection before it QUITs and a fresh one takes over. Default 100. */
  maxMessagesPerConnection?: number;
  /** A token bucket over the whole pool: at most `messages` at once, refilled at `messages` per `perMs`. */
  rateLimit?: {
    /** Messages per period (and the largest burst). */
    messages: number;
    /** The period, in milliseconds. */
    perMs: number;
  };
  /** Milliseconds an idle connection stays open before it QUITs. Default 5 000. */
  idleTimeout?: number;
  /** Aborting it ends every `sendAll` with `ECANCELED`, closes every connection at once and closes the pool. */
  signal?: AbortSignal;
  /**
   * How the pool waits for a server it cannot connect to: delays doubling from `initialDelay` to
   * `maxDelay` ms, with jitter, and after `attempts` failed connects in a row the mails waiting fail
   * (transient) until a connect succeeds. Default {@link DEFAULT_BACKOFF}.
   */
  backoff?: Partial<BackoffPolicy>;
}

/** The pool's own options with their defaults, and the rest for each session. */
export interface ResolvedPoolOptions {
  server: ServerAddress;
  username: string | undefined;
  password: string | undefined;
  maxConnections: number;
  maxMessagesPerConnection: number;
  rateLimit: { messages: number; perMs: number } | undefined;
  idleTimeout: number;
  signal: AbortSignal | undefined;
  backoff: BackoffPolicy;
  scheduler: SchedulerLike;
  session: SessionOptions;
}

/** Five connections: what submission servers commonly allow one client before they answer 421. */
export const DEFAULT_MAX_CONNECTIONS = 5;
/** A hundred messages, then a fresh connection: servers limit transactions per connection too. */
export const DEFAULT_MAX_MESSAGES_PER_CONNECTION = 100;
/** Five seconds idle, then QUIT: long enough for a burst's stragglers, short enough to be polite. */
export const DEFAULT_IDLE_TIMEOUT_MS = 5_000;
/** setTimeout's ceiling (2^31 - 1 ms). */
const MAX_MS = 2_147_483_647;

/**
 * Checks {@link PoolOptions} and splits them; throws an `EINVAL` {@link SmtpError} for a bad value,
 * an unknown key, a bad server address or bad credentials, so that no connection is ever tried with them.
 *
 * @example
 * ```ts
 * const { maxConnections, session } = resolvePoolOptions({ server: 'localhost:2525' });
 * ```
 */
export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  if (options === null || typeof options !== 'object') throw invalid('pool options must be an object');
  const { server, username, password, maxConnections, maxMessagesPerConnection, rateLimit, idleTimeout, signal, backoff, ...session } = options;
  // The pool's signal is the pool's: a session aborted under it would only be replaced.
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid('signal must be an AbortSignal');
  resolveOptions(session);
  parseServerAddress(server);
  checkCredentials(username, password);
  if (rateLimit !== undefined) {
    if (rateLimit === null || typeof rateLimit !== 'object') throw invalid('rateLimit must be { messages, perMs }');
    integer(rateLimit.messages, 'rateLimit.messages', 1_000_000);
    integer(rateLimit.perMs, 'rateLimit.perMs', MAX_MS);
  }
  const policy = resolveBackoff(backoff);
  return {
    server,
    username: username ?? undefined,
    password: password ?? undefined,
    maxConnections: maxConnections === undefined ? DEFAULT_MAX_CONNECTIONS : integer(maxConnections, 'maxConnections', 1000),
    maxMessagesPerConnection:
      maxMessagesPerConnection === undefined ? DEFAULT_MAX_MESSAGES_PER_CONNECTION : integer(maxMessagesPerConnection, 'maxMessagesPerConnection', 1e9),
    rateLimit: rateLimit === undefined ? undefined : { messages: rateLimit.messages, perMs: rateLimit.perMs },
    idleTimeout: idleTimeout === undefined ? DEFAULT_IDLE_TIMEOUT_MS : integer(idleTimeout, 'idleTimeout', MAX_MS),
    signal,
    backoff: policy,
    scheduler: session.scheduler ?? asyncScheduler,
    // One cache for all the pool's connections: each new one resumes the server's last TLS session.
    session: { ...session, tlsSessions: session.tlsSessions ?? new TlsSessionCache() },
  };
}

function resolveBackoff(backoff: Partial<BackoffPolicy> | undefined): BackoffPolicy {
  if (backoff === undefined) return DEFAULT_BACKOFF;
  if (backoff === null || typeof backoff !== 'object') throw invalid('backoff must be { initialDelay?, maxDelay?, attempts? }');
  for (const key of Object.keys(backoff)) {
    if (!(key in DEFAULT_BACKOFF)) throw invalid(`unknown option ${JSON.stringify(`backoff.${key}`)}`);
  }
  const policy = { ...DEFAULT_BACKOFF, ...backoff };
  integer(policy.initialDelay, 'backoff.initialDelay', MAX_MS);
  integer(policy.maxDelay, 'backoff.maxDelay', MAX_MS);
  integer(policy.attempts, 'backoff.attempts', 1000);
  if (policy.maxDelay < policy.initialDelay) throw invalid('backoff.maxDelay must not be below backoff.initialDelay');
  return policy;
}

function integer(value: unknown, key: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(`${key} must be an integer in 1..${max}`);
  }
  return value;
}

function invalid(message: string): SmtpError {
  return new SmtpError('EINVAL', message);
}
