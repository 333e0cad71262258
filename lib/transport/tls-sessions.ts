import { createHash } from 'node:crypto';
import type * as tls from 'node:tls';

/**
 * TLS sessions a client may resume, bounded: a full handshake costs a round trip and the server's
 * asymmetric crypto; resuming (a TLS 1.3 ticket or a TLS 1.2 session) skips most of it. 64 servers
 * is more than a client talks to in any burst, and an entry is a few hundred bytes.
 */
export const MAX_TLS_SESSIONS = 64;

/** Gives each object or function an id for the lifetime of the object, to tell option sets apart. */
const ids = new WeakMap<object, number>();
let lastId = 0;

/**
 * The TLS sessions of past connections, per server, in memory, bounded (least recently used goes
 * first). A session or pool keeps one, so that connecting again to the same server resumes. A
 * session is only ever offered to the same host, port, server name and TLS options it came from:
 * never across names (a ticket of one virtual host to another) or options (a ticket won under one
 * trust to a connection made under another).
 *
 * @example
 * ```ts
 * const tlsSessions = new TlsSessionCache();
 * const a = createSession({ tlsSessions });
 * const b = createSession({ tlsSessions }); // resumes what a's connections left
 * ```
 */
export class TlsSessionCache {
  /** Made on the first session kept: most caches (a session's own, never using TLS) stay empty. */
  private sessions: Map<string, Buffer> | undefined;

  constructor(private readonly capacity: number = MAX_TLS_SESSIONS) {}

  /** How many servers it holds a session for. */
  get size(): number {
    return this.sessions?.size ?? 0;
  }

  /**
   * The key of a connection: where it goes and everything that decides whom it trusts.
   *
   * @example
   * ```ts
   * const key = TlsSessionCache.keyOf('mail.example.com', 587, options);
   * ```
   */
  static keyOf(host: string, port: number, options: tls.ConnectionOptions): string {
    const { session: _ignored, ...rest } = options;
    // The holder's own value, before toJSON: a Buffer (a CA, a certificate) is hashed, not listed byte by byte.
    const text = JSON.stringify([host, port, rest], function (this: Record<string, unknown>, key: string, value: unknown) {
      const raw = this[key];
      if (raw instanceof Uint8Array) return `bytes:${createHash('sha256').update(raw).digest('hex')}`;
      if (typeof raw === 'function' || (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && Object.getPrototypeOf(raw) !== Object.prototype)) {
        return `object:${idOf(raw)}`;
      }
      return value;
    });
    return createHash('sha256').update(text).digest('hex');
  }

  /** The session last kept for `key` (see {@link TlsSessionCache.keyOf}), if any; it becomes the most recently used. */
  get(key: string): Buffer | undefined {
    const session = this.sessions?.get(key);
    if (session === undefined || this.sessions === undefined) return undefined;
    // Most recently used last.
    this.sessions.delete(key);
    this.sessions.set(key, session);
    return session;
  }

  /** Keeps `session` for `key`, the least recently used entry going when the cache is full. */
  set(key: string, session: Buffer): void {
    this.sessions ??= new Map();
    this.sessions.delete(key);
    this.sessions.set(key, session);
    while (this.sessions.size > this.capacity) this.sessions.delete(this.sessions.keys().next().value!);
  }
}

function idOf(value: object): number {
  let id = ids.get(value);
  if (id === undefined) {
    id = ++lastId;
    ids.set(value, id);
  }
  return id;
}
