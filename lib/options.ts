import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { type SchedulerLike, asyncScheduler } from 'rxjs';
import { DEFAULT_WINDOW_BYTES, DEFAULT_WINDOW_MAILS } from './send/window';
import { TlsSessionCache } from './transport/tls-sessions';
import { type Transport, nodeTransport } from './transport/transport';
import { SmtpError, invalid } from './errors';
import { DEFAULT_MAX_LINE_LENGTH, DEFAULT_MAX_LINES, DEFAULT_MAX_REPLY_BYTES } from './reply/reply-parser';

/**
 * How TLS is used: `'starttls'` upgrades when the server offers STARTTLS, `'starttls-required'`
 * refuses to go on without it, `'implicit'` speaks TLS from the first byte (port 465), `'none'` never
 * upgrades.
 */
export type TlsMode = 'starttls' | 'starttls-required' | 'implicit' | 'none';

/**
 * Options of {@link createSession}. Every key is optional; an unknown key or a bad value makes
 * `createSession` throw an `EINVAL` {@link SmtpError}.
 *
 * @example
 * ```ts
 * const session = createSession({ timeout: 30_000, clientName: 'client.example.com' });
 * ```
 */
export interface SessionOptions {
  /** Milliseconds to wait for each reply, for the TCP connect and for the TLS handshake. Default 60 000. */
  timeout?: number;
  /** The EHLO/HELO argument. Default: this machine's host name, or an address literal such as `[127.0.0.1]`. */
  clientName?: string;
  /** SASL mechanisms the client may use, in order of preference. Default: SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN. */
  authMechanisms?: readonly string[];
  /** TLS mode; default `'starttls'`, or `'implicit'` for `smtps://` URLs and port 465. */
  tls?: TlsMode;
  /**
   * Passed to `tls.connect` (ca, cert, key, minVersion, servername, rejectUnauthorized, ...). Read
   * at the first TLS connection: the TLS context made from this object is reused by every later
   * connection given the same object (a session's reconnects, a pool's connections), so change
   * settings by passing a new object, not by changing this one.
   */
  tlsOptions?: TlsConnectionOptions;
  /** Allow AUTH over a connection without TLS. Default false: credentials never travel in clear text. */
  allowInsecureAuth?: boolean;
  /** Use CHUNKING (BDAT, RFC 3030) when the server offers it. Default true. */
  chunking?: boolean;
  /** Speak LMTP (RFC 2033): LHLO, and one reply per recipient after the end of data. Default false. */
  lmtp?: boolean;
  /** Send NOOP after this many ms of idleness so servers do not drop the connection. Default off. */
  keepAlive?: number;
  /** Longest reply line accepted, in octets without CRLF. Default 4096. */
  maxLineLength?: number;
  /** Most lines accepted in one reply. Default 256. */
  maxLines?: number;
  /** Most octets accepted in one reply. Default 65 536. */
  maxReplyBytes?: number;
  /** Aborting it disposes the session: the connection closes at once and every call in flight ends. */
  signal?: AbortSignal;
  /**
   * How far to pipeline when the server offers PIPELINING (RFC 2920). Default `'across-mails'`: a
   * mail's commands in one write, and the next mail's behind its end of data, one round trip per
   * message. `'within-mail'` waits for each end-of-data reply before the next MAIL, for servers that
   * refuse commands sent behind it (a session finds that out by itself and switches, but the first
   * such mail costs a round trip). `'off'`: lock-step, each command after the reply to the one before.
   */
  pipelining?: PipeliningMode;
  /**
   * Bounds of the CHUNKING window (mails written whole before their replies are read, see the
   * README): at most `mails` of them and `bytes` of their content at once. Each is a mail that
   * becomes uncertain if the connection fails, so `mails` is also the most uncertain mails a
   * connection failure can leave. Defaults: {@link DEFAULT_WINDOW_MAILS}, {@link DEFAULT_WINDOW_BYTES}.
   */
  window?: WindowOptions;
  /** Where timeouts run: RxJS's `asyncScheduler` by default; a test passes its `TestScheduler` to run deadlines in virtual time. */
  scheduler?: SchedulerLike;
  /**
   * The TLS sessions this session may resume and adds to: by default its own, so that connecting
   * again to the same server skips the full handshake (see `state.tls.resumed`); pass one cache to
   * several sessions to share them (a pool shares one among its connections).
   */
  tlsSessions?: TlsSessionCache;
}

/**
 * Bounds of the CHUNKING window (see `SessionOptions.window`).
 *
 * @example
 * ```ts
 * const window: WindowOptions = { mails: 16, bytes: 1024 * 1024 };
 * ```
 */
export interface WindowOptions {
  /** Most mails written whole and not answered yet: also the most a connection failure can leave uncertain. */
  mails?: number;
  /** Most octets of content of those mails (one mail always fits in an empty window). */
  bytes?: number;
}

/**
 * How far commands are pipelined (RFC 2920):
 * - `across-mails`: MAIL, RCPT and DATA in one write, and the next mail's commands in the same
 *   write as the previous end of data: one round trip per message, fewer with CHUNKING;
 * - `within-mail`: MAIL, RCPT and DATA in one write, but the next MAIL only once the end of data is
 *   answered (for servers that refuse commands sent behind it, as Haraka 3.3.4 does);
 * - `off`: each command waits for the reply to the one before (servers without PIPELINING).
 */
export type PipeliningMode = 'across-mails' | 'within-mail' | 'off';

/** The options with every default filled in. */
export interface ResolvedOptions {
  timeout: number;
  clientName: string | undefined;
  authMechanisms: readonly string[] | undefined;
  tls: TlsMode | undefined;
  tlsOptions: TlsConnectionOptions;
  allowInsecureAuth: boolean;
  chunking: boolean;
  lmtp: boolean;
  keepAlive: number | undefined;
  limits: { maxLineLength: number; maxLines: number; maxReplyBytes: number };
  signal: AbortSignal | undefined;
  pipelining: PipeliningMode;
  window: { mails: number; bytes: number };
  scheduler: SchedulerLike;
  tlsSessions: TlsSessionCache;
  /** Where sockets come from; only a test's seam changes it. */
  transport: Transport;
}

/**
 * The default `timeout`: RFC 5321 4.5.3.2 suggests minutes per command; one minute keeps a dead
 * server from pinning a session.
 *
 * @example
 * ```ts
 * createSession({ timeout: DEFAULT_TIMEOUT_MS / 2 });
 * ```
 */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** setTimeout's own ceiling (2^31 - 1 ms); a longer delay would fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;
const TLS_MODES: readonly TlsMode[] = ['starttls', 'starttls-required', 'implicit', 'none'];
const PIPELINING_MODES: readonly PipeliningMode[] = ['across-mails', 'within-mail', 'off'];
/** A window of more mails than this holds more uncertainty than any round trip can repay. */
const MAX_WINDOW_MAILS = 10_000;
/** A gibibyte of content in flight is already more than any sender should hold. */
const MAX_WINDOW_BYTES = 1 << 30;

type Checker = (value: unknown, key: string) => void;
const CHECKS: Record<keyof SessionOptions, Checker> = {
  timeout: (v, k) => positiveInteger(v, k, MAX_TIMEOUT_MS),
  clientName: (v, k) => checkClientName(v, k),
  authMechanisms: (v, k) => {
    if (!Array.isArray(v) || v.length === 0 || !v.every((m) => typeof m === 'string' && /^[A-Za-z0-9_-]{1,20}$/.test(m))) {
      throw invalid(`${k} must be a non-empty array of SASL mechanism names`);
    }
  },
  tls: (v, k) => {
    if (!TLS_MODES.includes(v as TlsMode)) throw invalid(`${k} must be one of ${TLS_MODES.join(', ')}`);
  },
  tlsOptions: (v, k) => {
    if (v === null || typeof v !== 'object') throw invalid(`${k} must be an object`);
  },
  allowInsecureAuth: (v, k) => boolean(v, k),
  chunking: (v, k) => boolean(v, k),
  lmtp: (v, k) => boolean(v, k),
  keepAlive: (v, k) => positiveInteger(v, k, MAX_TIMEOUT_MS),
  maxLineLength: (v, k) => positiveInteger(v, k, 1 << 20),
  maxLines: (v, k) => positiveInteger(v, k, 1 << 16),
  maxReplyBytes: (v, k) => positiveInteger(v, k, 1 << 24),
  signal: (v, k) => {
    if (!(v instanceof AbortSignal)) throw invalid(`${k} must be an AbortSignal`);
  },
  pipelining: (v, k) => {
    if (!PIPELINING_MODES.includes(v as PipeliningMode)) throw invalid(`${k} must be one of ${PIPELINING_MODES.join(', ')}`);
  },
  window: (v, k) => {
    if (v === null || typeof v !== 'object') throw invalid(`${k} must be { mails?, bytes? }`);
    for (const [key, value] of Object.entries(v)) {
      if (key !== 'mails' && key !== 'bytes') throw invalid(`unknown option ${JSON.stringify(`${k}.${key}`)}`);
      if (value !== undefined) positiveInteger(value, `${k}.${key}`, key === 'mails' ? MAX_WINDOW_MAILS : MAX_WINDOW_BYTES);
    }
  },
  tlsSessions: (v, k) => {
    if (!(v instanceof TlsSessionCache)) throw invalid(`${k} must be a TlsSessionCache`);
  },
  scheduler: (v, k) => {
    if (v === null || typeof v !== 'object' || typeof (v as SchedulerLike).schedule !== 'function' || typeof (v as SchedulerLike).now !== 'function') {
      throw invalid(`${k} must be an RxJS scheduler`);
    }
  },
};

/** The `tlsOptions` of sessions given none: one object, so that they share one TLS context. */
const NO_TLS_OPTIONS: TlsConnectionOptions = Object.freeze({});

/**
 * Checks and completes {@link SessionOptions}; throws an `EINVAL` {@link SmtpError} for an unknown key
 * or a bad value.
 */
export function resolveOptions(options: SessionOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  for (const [key, value] of Object.entries(options)) {
    const check = CHECKS[key as keyof SessionOptions];
    if (check === undefined) throw invalid(`unknown option ${JSON.stringify(key)}`);
    if (value !== undefined) check(value, key);
  }
  return {
    timeout: options.timeout ?? DEFAULT_TIMEOUT_MS,
    clientName: options.clientName,
    authMechanisms: options.authMechanisms?.map((m) => m.toUpperCase()),
    tls: options.tls,
    tlsOptions: options.tlsOptions ?? NO_TLS_OPTIONS,
    allowInsecureAuth: options.allowInsecureAuth ?? false,
    chunking: options.chunking ?? true,
    lmtp: options.lmtp ?? false,
    keepAlive: options.keepAlive,
    limits: {
      maxLineLength: options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
      maxLines: options.maxLines ?? DEFAULT_MAX_LINES,
      maxReplyBytes: options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES,
    },
    signal: options.signal,
    pipelining: options.pipelining ?? 'across-mails',
    window: { mails: options.window?.mails ?? DEFAULT_WINDOW_MAILS, bytes: options.window?.bytes ?? DEFAULT_WINDOW_BYTES },
    scheduler: options.scheduler ?? asyncScheduler,
    tlsSessions: options.tlsSessions ?? new TlsSessionCache(),
    transport: nodeTransport,
  };
}

/**
 * Throws `EINVAL` when text that goes on the wire as is holds CR, LF or NUL, or a character that
 * becomes one when narrowed to a byte (U+010A, U+010D, U+0100, ...): some stacks do narrow.
 */
export function assertSafeText(value: string, what: string): void {
  for (let i = 0; i < value.length; i++) {
    const low = value.charCodeAt(i) & 0xff;
    if (low === 0x0a || low === 0x0d || low === 0x00) {
      throw invalid(`${what} must not contain CR, LF or NUL (or characters that narrow to them)`);
    }
  }
}

// EHLO's argument is a domain or an address literal (RFC 5321 4.1.1.1): no white space or controls.
const CLIENT_NAME_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?|\[[A-Za-z0-9:.]+\])$/;

function checkClientName(value: unknown, key: string): void {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${key} must be a non-empty string`);
  assertSafeText(value, key);
  if (!CLIENT_NAME_PATTERN.test(value)) throw invalid(`${key} must be a domain name or an address literal like [192.0.2.1]`);
}

function boolean(value: unknown, key: string): void {
  if (typeof value !== 'boolean') throw invalid(`${key} must be a boolean`);
}

function positiveInteger(value: unknown, key: string, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(`${key} must be an integer in 1..${max}`);
  }
}
