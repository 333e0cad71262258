import * as net from 'node:net';
import { turns } from '../fixtures/observe';

/**
 * A hostile SMTP server on a real loopback socket. Where the scripted server plays a transcript,
 * this one runs a script as an `async` function of the connection, so that it can do what no
 * honest server does: trickle a reply one byte per segment, flood the client with an endless reply
 * until it hangs up, answer before being asked, or say anything at all to anything.
 *
 * It records every byte the client sent (`raw`) as well as its lines, so a test can prove what
 * reached the wire and what did not. Nothing here sleeps: waiting is on socket events and on
 * turns of the event loop (real `setImmediate`, which the suite's fake timers leave alone).
 *
 * @example
 * ```ts
 * const server = await hostileServer(async (peer) => {
 *   await peer.send('220 hi\r\n');
 *   await peer.line(); // EHLO
 *   await peer.flood('250-endless\r\n');
 * });
 * ```
 */

/** One accepted connection, seen from the server. */
export class HostilePeer {
  /** Every client line taken so far by {@link line}, CRLF stripped. */
  readonly lines: string[] = [];
  /** Resolves when the connection has closed. */
  readonly closed: Promise<void>;
  /** True once the connection has closed. */
  gone = false;
  private readonly received: Buffer[] = [];
  private pending = Buffer.alloc(0);
  private waiting: (() => void)[] = [];

  constructor(
    readonly socket: net.Socket,
    private readonly onLine: (line: string) => void,
  ) {
    socket.setNoDelay(true);
    // A client that resets the connection is an ordinary event here.
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      this.received.push(chunk);
      this.pending = Buffer.concat([this.pending, chunk]);
      this.notify();
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.gone = true;
        this.notify();
        resolve();
      }),
    );
  }

  /** Every byte the client has sent on this connection, as sent. */
  get raw(): Buffer {
    return Buffer.concat(this.received);
  }

  /** The next client line (CRLF stripped), or undefined when the client closed first. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const at = this.pending.indexOf('\r\n');
      if (at >= 0) {
        const line = this.pending.subarray(0, at).toString('utf8');
        this.pending = this.pending.subarray(at + 2);
        this.lines.push(line);
        this.onLine(line);
        return line;
      }
      if (this.gone) return undefined;
      await this.input();
    }
  }

  /**
   * The DATA content as sent, up to the first `CRLF.CRLF` (as a strict server reads it), without
   * the final `.CRLF`; undefined when the client closed first.
   */
  async data(): Promise<Buffer | undefined> {
    for (;;) {
      const withStart = Buffer.concat([Buffer.from('\r\n'), this.pending]);
      const at = withStart.indexOf('\r\n.\r\n');
      if (at >= 0) {
        const content = withStart.subarray(2, at + 2);
        this.pending = withStart.subarray(at + 5);
        return Buffer.from(content);
      }
      if (this.gone) return undefined;
      await this.input();
    }
  }

  /** Writes `bytes` in one write; resolves once written (or at once when the client has gone). */
  send(bytes: string | Buffer): Promise<void> {
    if (this.gone || !this.socket.writable) return Promise.resolve();
    return new Promise((resolve) => this.socket.write(bytes, () => resolve()));
  }

  /** Writes `bytes` one byte per write, each in its own segment, until done or the client goes. */
  async trickle(bytes: string | Buffer): Promise<void> {
    for (const byte of Buffer.from(bytes)) {
      if (this.gone) return;
      await this.send(Buffer.of(byte));
      await turns(2);
    }
  }

  /**
   * Writes `unit` again and again, honouring backpressure, until the client closes the connection.
   * Resolves with the number of bytes written.
   */
  async flood(unit: string | Buffer): Promise<number> {
    const bytes = Buffer.from(unit);
    // Whole units batched up to 16 KiB per write keep a flood fast without growing our own buffers.
    const batch = Buffer.concat(Array(Math.max(1, Math.floor(16_384 / bytes.length))).fill(bytes));
    let written = 0;
    while (!this.gone && this.socket.writable) {
      written += batch.length;
      if (!this.socket.write(batch)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            this.socket.off('drain', done);
            this.socket.off('close', done);
            resolve();
          };
          this.socket.on('drain', done).on('close', done);
        });
      }
      await turns(1);
    }
    return written;
  }

  /** Ends the connection politely (FIN). */
  end(): void {
    this.socket.end();
  }

  /** Resets the connection, as a crashed server would. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Resolves once the client has sent `text`, raw (at once if it has); rejects if it closes first. */
  async sent(text: string): Promise<void> {
    while (!this.raw.includes(text)) {
      if (this.gone) throw new Error(`the client closed without sending ${JSON.stringify(text)}`);
      await this.input();
    }
  }

  private input(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private notify(): void {
    for (const wake of this.waiting.splice(0)) wake();
  }
}

/** A running hostile server. */
export interface HostileServer {
  port: number;
  /** The connections accepted so far, in order. */
  readonly peers: HostilePeer[];
  /** Every client line of every connection, in order. */
  readonly lines: string[];
  /** What the scripts threw (a broken script is a broken test). */
  readonly failures: unknown[];
  /** Resolves when a client line matches (at once if one already has). */
  received(pattern: string | RegExp): Promise<void>;
  /** Resolves once every script has returned. */
  settled(): Promise<void>;
  /** Closes the listener and destroys every connection. */
  close(): Promise<void>;
}

/** Every hostile server not yet closed, for the suite's own leak check. */
export const openServers = new Set<HostileServer>();
/** Every server-side socket ever accepted, for the suite's own leak check. */
export const acceptedSockets: net.Socket[] = [];

/**
 * Listens on 127.0.0.1 port 0 and runs `script` for every connection (numbered from 0). With
 * `record: false` it keeps no peer, line or socket (for the soak, whose heap is measured).
 *
 * @example
 * ```ts
 * const server = await hostileServer(async (peer) => void (await peer.send('554 go away\r\n')));
 * ```
 */
export async function hostileServer(
  script: (peer: HostilePeer, index: number) => Promise<unknown> | void,
  { record = true }: { record?: boolean } = {},
): Promise<HostileServer> {
  const peers: HostilePeer[] = [];
  const lines: string[] = [];
  const failures: unknown[] = [];
  const running: Promise<unknown>[] = [];
  let watchers: { pattern: string | RegExp; resolve: () => void }[] = [];
  const onLine = (line: string): void => {
    if (!record) return;
    lines.push(line);
    const met = watchers.filter((w) => matches(w.pattern, line));
    watchers = watchers.filter((w) => !met.includes(w));
    for (const w of met) w.resolve();
  };
  let accepted = 0;
  const server = net.createServer((socket) => {
    const peer = new HostilePeer(socket, onLine);
    const index = accepted++;
    const run = Promise.resolve()
      .then(() => script(peer, index))
      .catch((err: unknown) => failures.push(err));
    // Unrecorded (the soak), nothing of a connection is kept once it is over.
    if (!record) return;
    acceptedSockets.push(socket);
    peers.push(peer);
    running.push(run);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const handle: HostileServer = {
    port: (server.address() as net.AddressInfo).port,
    peers,
    lines,
    failures,
    received: (pattern) =>
      lines.some((line) => matches(pattern, line))
        ? Promise.resolve()
        : new Promise((resolve) => watchers.push({ pattern, resolve })),
    settled: async () => void (await Promise.all(running)),
    close: () =>
      new Promise<void>((resolve) => {
        openServers.delete(handle);
        server.close(() => resolve());
        for (const peer of peers) peer.destroy();
      }),
  };
  openServers.add(handle);
  return handle;
}

function matches(pattern: string | RegExp, line: string): boolean {
  return typeof pattern === 'string' ? line === pattern : pattern.test(line);
}

export { turns };

/** A conventional greeting. */
export const GREETING = '220 hostile.test ESMTP\r\n';

/** An EHLO reply with these capabilities. */
export function ehloReply(capabilities: readonly string[] = []): string {
  const texts = ['hostile.test', ...capabilities];
  return texts.map((text, i) => `250${i === texts.length - 1 ? ' ' : '-'}${text}\r\n`).join('');
}

/** How {@link converse} answers a command: a reply to write, or a function that does its own talking. */
export type Answer = string | ((line: string, peer: HostilePeer) => Promise<unknown> | unknown);

const DEFAULT_ANSWERS: Record<string, string> = {
  HELO: '250 hostile.test\r\n',
  MAIL: '250 2.1.0 Ok\r\n',
  RCPT: '250 2.1.5 Ok\r\n',
  DATA: '354 go ahead\r\n',
  '.': '250 2.0.0 Ok: queued\r\n',
  RSET: '250 2.0.0 Ok\r\n',
  NOOP: '250 2.0.0 Ok\r\n',
  QUIT: '221 2.0.0 Bye\r\n',
};

/**
 * Plays an ordinary server, except where `answers` says otherwise (by upper-case verb, or
 * `greeting`, or `.` for the end of data): greeting, EHLO with `capabilities`, 250 to MAIL, RCPT,
 * RSET and NOOP, 354 to DATA then the content into `contents`, 221 and the end to QUIT, 502 to
 * anything else. Returns when the client has gone or said QUIT.
 *
 * @example
 * ```ts
 * const server = await hostileServer((peer) => converse(peer, { capabilities: ['PIPELINING'], answers: { RCPT: '221 bye\r\n' } }));
 * ```
 */
export async function converse(
  peer: HostilePeer,
  { capabilities = [], answers = {}, contents = [] }: { capabilities?: readonly string[]; answers?: Record<string, Answer>; contents?: Buffer[] } = {},
): Promise<void> {
  const answer = async (key: string, line: string, fallback: string): Promise<void> => {
    const chosen = answers[key] ?? fallback;
    if (typeof chosen === 'string') await peer.send(chosen);
    else await chosen(line, peer);
  };
  await answer('greeting', '', GREETING);
  for (let line = await peer.line(); line !== undefined; line = await peer.line()) {
    const verb = line.split(' ')[0]!.toUpperCase();
    const fallback = verb === 'EHLO' || verb === 'LHLO' ? ehloReply(capabilities) : (DEFAULT_ANSWERS[verb] ?? '502 5.5.2 Unknown\r\n');
    await answer(verb, line, fallback);
    if (verb === 'QUIT') return peer.end();
    if (verb === 'DATA' && (answers.DATA === undefined || answers.DATA === DEFAULT_ANSWERS.DATA)) {
      const content = await peer.data();
      if (content === undefined) return;
      contents.push(content);
      await answer('.', '.', DEFAULT_ANSWERS['.']!);
    }
  }
}
