import * as net from 'node:net';
import * as tls from 'node:tls';

/**
 * A minimal SMTP sink for the benchmarks: it accepts everything, discards the content and counts
 * turns. A turn is one batch of replies written: the sink answers everything a socket read gave it
 * in one write, so a client that waits for replies before writing more costs exactly one turn per
 * wait, and a client that pipelines costs one per group. This count does not depend on timing.
 *
 * @example
 * ```ts
 * const sink = await startMiniSink({ pipelining: true });
 * // ... send 100 mails to sink.port ...
 * console.log(sink.turns / 100);
 * await sink.close();
 * ```
 */
export interface MiniSinkOptions {
  /** Advertise PIPELINING (RFC 2920). */
  pipelining?: boolean;
  /** Advertise CHUNKING (RFC 3030) and accept BDAT. */
  chunking?: boolean;
  /** Advertise AUTH PLAIN and accept any credentials with 235 (after STARTTLS when `starttls` is set). */
  auth?: boolean;
  /**
   * Advertise STARTTLS (RFC 3207) and upgrade with this key and certificate. Every connection's
   * handshake uses one secure context, so a client that offers a session ticket from an earlier
   * connection can resume (counted in {@link MiniSink.resumed}).
   */
  starttls?: { key: string | Buffer; cert: string | Buffer };
}

/**
 * What a sink counted, on all connections since the start or the last {@link MiniSink.resetCounts}.
 *
 * @example
 * ```ts
 * const { turns, messages }: SinkCounts = sink;
 * ```
 */
export interface SinkCounts {
  /** Reply batches written. */
  turns: number;
  /** Messages accepted (end of data or BDAT LAST). */
  messages: number;
  /** TLS handshakes completed after STARTTLS. */
  handshakes: number;
  /** Of those, the ones that resumed an earlier TLS session (ticket or session ID). */
  resumed: number;
}

/**
 * A running sink: its port, what it counted, and how to stop it.
 *
 * @example
 * ```ts
 * const sink: MiniSink = await startMiniSink();
 * ```
 */
export interface MiniSink extends Readonly<SinkCounts> {
  readonly port: number;
  /** Sets every counter to zero. */
  resetCounts(): void;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

const END_OF_DATA = Buffer.from('\r\n.\r\n');
/** Bytes of a possible end of data kept from the end of one read to match across the next. */
const END_OF_DATA_OVERLAP = END_OF_DATA.length - 1;

/**
 * Starts a sink on 127.0.0.1, port 0 (or `port`).
 *
 * @example
 * ```ts
 * const sink = await startMiniSink({ pipelining: true, chunking: true });
 * ```
 */
export function startMiniSink(options: MiniSinkOptions = {}, port = 0): Promise<MiniSink> {
  const counts: SinkCounts = { turns: 0, messages: 0, handshakes: 0, resumed: 0 };
  const secureContext = options.starttls === undefined ? undefined : tls.createSecureContext(options.starttls);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    new SinkConnection(socket, options, counts, secureContext);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      resolve({
        port: address.port,
        get turns() {
          return counts.turns;
        },
        get messages() {
          return counts.messages;
        },
        get handshakes() {
          return counts.handshakes;
        },
        get resumed() {
          return counts.resumed;
        },
        resetCounts() {
          Object.assign(counts, { turns: 0, messages: 0, handshakes: 0, resumed: 0 });
        },
        close() {
          for (const socket of sockets) socket.destroy();
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}

/**
 * One client: command lines, then DATA content up to the end of data, or BDAT chunks by count;
 * after STARTTLS the same over the TLS socket.
 */
class SinkConnection {
  private pending = '';
  private out = '';
  private inData = false;
  /** The last bytes of DATA content so far, to find an end of data split across reads. */
  private dataTail = Buffer.alloc(0);
  private bdatLeft = 0;
  private bdatLast = false;
  private authContinues = false;
  private queued = 0;
  private secure = false;
  private readonly onData = (chunk: Buffer): void => {
    this.consume(chunk);
    this.flush();
  };

  constructor(
    private socket: net.Socket,
    private readonly options: MiniSinkOptions,
    private readonly counts: SinkCounts,
    private readonly secureContext: tls.SecureContext | undefined,
  ) {
    this.reply('220 bench-sink ESMTP');
    this.flush();
    socket.on('data', this.onData);
  }

  private consume(chunk: Buffer): void {
    const from = this.socket;
    let at = 0;
    // After STARTTLS the rest of a plain-text read is dropped (RFC 3207 5: nothing may be injected).
    while (at < chunk.length && this.socket === from) {
      if (this.bdatLeft > 0) at = this.skipBdat(chunk, at);
      else if (this.inData) at = this.skipData(chunk, at);
      else {
        const lf = chunk.indexOf(0x0a, at);
        if (lf === -1) {
          this.pending += chunk.toString('latin1', at);
          return;
        }
        const line = this.pending + chunk.toString('latin1', at, lf);
        this.pending = '';
        at = lf + 1;
        this.command(line.endsWith('\r') ? line.slice(0, -1) : line);
      }
    }
  }

  private skipBdat(chunk: Buffer, at: number): number {
    const take = Math.min(this.bdatLeft, chunk.length - at);
    this.bdatLeft -= take;
    if (this.bdatLeft === 0) this.endBdat();
    return at + take;
  }

  private endBdat(): void {
    if (this.bdatLast) this.delivered();
    else this.reply('250 2.0.0 chunk ok');
  }

  private skipData(chunk: Buffer, at: number): number {
    // The end of data may straddle two reads: look in the kept tail joined to this read's start.
    const tailLength = this.dataTail.length;
    if (tailLength > 0) {
      const joined = Buffer.concat([this.dataTail, chunk.subarray(at, at + END_OF_DATA_OVERLAP)]);
      const j = joined.indexOf(END_OF_DATA);
      if (j !== -1) return this.endData(at + j + END_OF_DATA.length - tailLength);
    }
    const end = chunk.indexOf(END_OF_DATA, at);
    if (end !== -1) return this.endData(end + END_OF_DATA.length);
    const keep = chunk.subarray(Math.max(at, chunk.length - END_OF_DATA_OVERLAP));
    this.dataTail = Buffer.concat([this.dataTail, keep]).subarray(-END_OF_DATA_OVERLAP);
    return chunk.length;
  }

  private endData(next: number): number {
    this.dataTail = Buffer.alloc(0);
    this.inData = false;
    this.delivered();
    return next;
  }

  private command(line: string): void {
    if (this.authContinues) {
      this.authContinues = false;
      this.reply('235 2.7.0 Authentication successful');
      return;
    }
    const verb = line.slice(0, 4).toUpperCase();
    switch (verb) {
      case 'EHLO':
      // LMTP's hello (RFC 2033): with one recipient a message, its one reply after the data is LMTP's too.
      case 'LHLO':
        this.ehlo();
        return;
      case 'HELO':
        this.reply('250 bench-sink');
        return;
      case 'MAIL':
        this.reply('250 2.1.0 Ok');
        return;
      case 'RCPT':
        this.reply('250 2.1.5 Ok');
        return;
      case 'DATA':
        this.inData = true;
        // DATA content starts right after the DATA line: a "." first line ends it at once.
        this.dataTail = Buffer.from('\r\n');
        this.reply('354 End data with <CR><LF>.<CR><LF>');
        return;
      case 'BDAT':
        this.bdat(line);
        return;
      case 'AUTH':
        this.auth(line);
        return;
      case 'STAR':
        this.startTls();
        return;
      case 'RSET':
      case 'NOOP':
        this.reply('250 2.0.0 Ok');
        return;
      case 'QUIT':
        this.reply('221 2.0.0 Bye');
        this.flush();
        this.socket.end();
        return;
      default:
        this.reply('500 5.5.1 Error: unknown command');
    }
  }

  private ehlo(): void {
    const keywords = ['bench-sink', '8BITMIME', 'ENHANCEDSTATUSCODES'];
    if (this.options.pipelining === true) keywords.push('PIPELINING');
    if (this.options.chunking === true) keywords.push('CHUNKING');
    if (this.secureContext !== undefined && !this.secure) keywords.push('STARTTLS');
    if (this.authOffered()) keywords.push('AUTH PLAIN');
    keywords.forEach((k, i) => this.reply(`250${i === keywords.length - 1 ? ' ' : '-'}${k}`));
  }

  private bdat(line: string): void {
    const [, size, last] = line.split(' ');
    this.bdatLeft = Number(size);
    this.bdatLast = last?.toUpperCase() === 'LAST';
    if (this.bdatLeft === 0) this.endBdat();
  }

  /** AUTH is offered when asked for, and only over TLS when the sink can do STARTTLS. */
  private authOffered(): boolean {
    return this.options.auth === true && (this.secureContext === undefined || this.secure);
  }

  private startTls(): void {
    if (this.secureContext === undefined || this.secure) {
      this.reply('502 5.5.1 Error: command not implemented');
      return;
    }
    this.reply('220 2.0.0 Ready to start TLS');
    this.flush();
    const plain = this.socket;
    plain.off('data', this.onData);
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.secureContext });
    secure.once('secure', () => {
      this.counts.handshakes++;
      if (secure.isSessionReused()) this.counts.resumed++;
    });
    secure.on('error', () => plain.destroy());
    secure.on('data', this.onData);
    this.socket = secure;
    this.secure = true;
    this.pending = '';
  }

  private auth(line: string): void {
    if (!this.authOffered()) {
      this.reply('502 5.5.1 Error: command not implemented');
      return;
    }
    const parts = line.split(' ');
    if (parts.length >= 3) this.reply('235 2.7.0 Authentication successful');
    else {
      this.authContinues = true;
      this.reply('334 ');
    }
  }

  private delivered(): void {
    this.counts.messages++;
    this.reply(`250 2.0.0 Ok: queued as B${++this.queued}`);
  }

  private reply(line: string): void {
    this.out += `${line}\r\n`;
  }

  private flush(): void {
    if (this.out === '' || this.socket.destroyed) return;
    this.counts.turns++;
    this.socket.write(this.out);
    this.out = '';
  }
}
