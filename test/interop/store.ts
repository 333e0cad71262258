import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAIL_POLL_MS, type SharedServerHandle, realDelay, realNow } from '../fixtures/shared-servers';

/**
 * Reads a shared server's store (`DIR/mail/N.eml` + `N.json`) by what the messages are, not by
 * their N: pipelined messages, Exim's queue runner and LMTP's one file per recipient all number
 * messages in another order than they were sent. Each test gives its mails a sender of its own
 * ({@link StoreReader.sender}) and asks for the messages from it.
 *
 * @example
 * ```ts
 * const store = storeOf(useSharedServer(EXIM));
 * const from = store.sender('bodies');
 * // ... send mails from `from` ...
 * const [stored] = await store.from(from, 1);
 * expect(stored!.eml.toString()).to.equal(body);
 * ```
 */

/** The envelope a server's store wrote beside a message; which fields exist depends on the server. */
export interface Envelope {
  /** The reverse-path ('' for a DSN or bounce the server wrote itself). */
  mail_from: string;
  /** The recipients of this copy (LMTP and OpenSMTPD: one copy per recipient). */
  rcpt_tos: string[];
  queue_id?: string;
  sasl_method?: string;
  sasl_username?: string;
  tls?: boolean;
  tls_cipher?: string;
  mail_options?: Record<string, string>;
  /** Set by store-watch.py when it could not take the server's lines off. */
  error?: string;
}

/** One stored message: its N, the content as stored, and the envelope. */
export interface Stored {
  n: number;
  eml: Buffer;
  json: Envelope;
}

/**
 * How long the store may stop growing before a wait gives up. Exim's queue runner starts every
 * second and a busy machine delays every server, so 15 s of no new message at all means the
 * message is not coming; a bulk run that keeps storing keeps the wait alive.
 */
const STALL_MS = 15_000;

/** What a test reads a server's store with. */
export interface StoreReader {
  /** A sender address no other test of this run uses, so that its messages can be told apart. */
  sender(what: string): string;
  /** Waits until at least `count` stored messages match, and returns every match, in N order. */
  find(match: (message: Stored) => boolean, count: number): Promise<Stored[]>;
  /** Waits for `count` messages from `sender` (see {@link StoreReader.find}). */
  from(sender: string, count: number): Promise<Stored[]>;
}

/**
 * A reader of the store of the server `handle` runs. N.eml is renamed into place before N.json,
 * and N counts up without gaps, so every N up to the last N.json is complete.
 */
export function storeOf(handle: SharedServerHandle): StoreReader {
  const read: Stored[] = [];
  let senders = 0;

  /** Reads the messages stored since the last call; returns how many were new. */
  function readNew(): number {
    const before = read.length;
    const dir = path.join(handle.server.dir, 'mail');
    for (let n = read.length + 1; fs.existsSync(path.join(dir, `${n}.json`)); n++) {
      const json = JSON.parse(fs.readFileSync(path.join(dir, `${n}.json`), 'utf8')) as Envelope;
      read.push({ n, eml: fs.readFileSync(path.join(dir, `${n}.eml`)), json });
    }
    return read.length - before;
  }

  async function find(match: (message: Stored) => boolean, count: number): Promise<Stored[]> {
    let deadline = realNow() + STALL_MS;
    for (;;) {
      if (readNew() > 0) deadline = realNow() + STALL_MS;
      const found = read.filter(match);
      if (found.length >= count) return found;
      if (realNow() > deadline) {
        throw new Error(`${found.length} of ${count} messages stored; none more in ${STALL_MS} ms (${handle.server.dir}/mail)`);
      }
      await realDelay(MAIL_POLL_MS);
    }
  }

  return {
    sender: (what) => `${what}-${++senders}@example.test`,
    find,
    from: (sender, count) => find((message) => message.json.mail_from === sender, count),
  };
}
