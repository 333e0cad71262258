import * as tls from 'node:tls';
import { AsyncSubject, Observable, Subject, Subscription, defer, fromEvent } from 'rxjs';
import { SmtpError, replyError, socketError } from '../errors';
import { formatReply, type SmtpReply } from '../reply/reply';
import { ReplyParser } from '../reply/reply-parser';
import { sanitize } from '../reply/sanitize';
import type { ConnectionOptions, Waiter } from './connection-options';
import { guardFirstRecord } from './record-guard';
import type { ReadyEvent, SmtpSocket } from './socket';
import type { TranscriptLine } from './transcript';
import { logTranscript } from './transcript-log';
import { type CommandSpec, type WriteItem, whenDrained, writeItems } from './write-batch';

export type { CommandSpec, WriteItem } from './write-batch';
export type { ConnectionOptions } from './connection-options';

/** Where a socket keeps the connection its events are for. */
const OWNER: unique symbol = Symbol('rx-smtp connection');
type OwnedSocket = SmtpSocket & { [OWNER]?: Connection };

/**
 * One SMTP connection: writes command lines, matches replies to them strictly in order, and turns
 * silence into `ETIMEDOUT`, a close into `ESHUTDOWN`, and a reply nobody asked for into
 * `ESERVERSYNC`. The first fatal error ends it: every waiting command errors with it and it is
 * published on `failure$`. The timer covers the oldest unanswered command from the moment it became
 * the oldest, so pipelined commands each get the full timeout and a trickling server still ends.
 *
 * @example
 * ```ts
 * const conn = new Connection(socket, 'connect', { timeout: 10_000, limits });
 * conn.ready$.pipe(concatMap(() => conn.read())).subscribe((greeting) => console.log(greeting.code));
 * ```
 */
export class Connection {
  /** Every reply, in order. */
  readonly replies$: Subject<SmtpReply>;
  /** Every line written and read, redacted and sanitised. */
  readonly transcript$: Subject<TranscriptLine>;
  /** Emits the fatal error once when the connection dies by any cause other than {@link destroy}. */
  readonly failure$ = new AsyncSubject<SmtpError>();
  /** Completes when the socket is connected (for implicit TLS: once the handshake is done). */
  readonly ready$: Observable<void>;

  private socket: SmtpSocket;
  /** Sockets under the current one (the plain socket under TLS), destroyed with it. */
  private readonly underlying: SmtpSocket[] = [];
  private parser: ReplyParser;
  private readonly pending: Waiter[] = [];
  private wiring = new Subscription();
  /** Completes when the current socket is ready; errors if the connection ends first. */
  private ready = new AsyncSubject<void>();
  private readyEvent: ReadyEvent = 'connect';
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * One plain timer while anything is unanswered. A reply moves `headSince` rather than re-arming it
   * (four replies a pipelined message); fired early, it sleeps again for what is left of the head's.
   */
  private replyTimer: ReturnType<typeof setTimeout> | undefined;
  /** `Date.now()` when the oldest unanswered command became the oldest. */
  private headSince = 0;
  private connected = false;
  private ended = false;
  /** The error the connection died of; what every later request gets too (not an ESHUTDOWN). */
  private fatal: SmtpError | undefined;
  private held = false;

  constructor(
    socket: SmtpSocket,
    readyEvent: ReadyEvent,
    private readonly options: ConnectionOptions,
  ) {
    this.socket = socket;
    this.replies$ = options.sinks?.replies ?? new Subject<SmtpReply>();
    this.transcript$ = options.sinks?.transcript ?? new Subject<TranscriptLine>();
    this.parser = new ReplyParser(options.limits);
    this.ready$ = this.attach(socket, readyEvent);
  }

  /** True once the connection has ended, by failure or by {@link destroy}. */
  get isClosed(): boolean {
    return this.ended;
  }

  /**
   * True while TLS is in force: the current socket is a TLS socket whose handshake has completed.
   * (A TLS socket calls itself `encrypted` from its creation, before any handshake.)
   */
  get isSecure(): boolean {
    return this.socket instanceof tls.TLSSocket && this.connected && !this.ended;
  }

  /** The socket currently carrying the conversation (the TLS socket after an upgrade). */
  get currentSocket(): SmtpSocket {
    return this.socket;
  }

  /** Waits for a reply without writing anything first (the greeting). Cold. */
  read(): Observable<SmtpReply> {
    return defer(() => this.enqueue({ line: '', redacted: undefined }).reply$);
  }

  /** Writes one command and emits its reply. Cold: nothing is written before subscription. */
  request(command: CommandSpec): Observable<SmtpReply> {
    return defer(() => this.write([command])[0]!);
  }

  /**
   * Writes several commands in one socket write (RFC 2920 pipelining) at once, and returns one
   * Observable per command for its reply, in order. Hot: the write happens now.
   */
  write(commands: readonly CommandSpec[]): Observable<SmtpReply>[] {
    return this.writeBatch(commands);
  }

  /**
   * Writes commands, raw bytes (message content) and reply placeholders in one batch, so that a
   * message's end of data and the next message's envelope leave in the same TCP segment. Returns
   * one Observable per item that has a reply (commands and `{ reply }` items), in order. Hot.
   */
  writeBatch(items: readonly WriteItem[]): Observable<SmtpReply>[] {
    const replies: Observable<SmtpReply>[] = [];
    if (this.ended) {
      const error = this.closedError();
      for (const item of items) if (!('raw' in item)) replies.push(new Observable<SmtpReply>((s) => s.error(error)));
      return replies;
    }
    writeItems(this.socket, items, (item) => {
      const waiter = this.enqueue('reply' in item ? { line: '', redacted: item.reply } : item);
      replies.push(waiter.reply$.asObservable());
      if ('line' in item) logTranscript(this.transcript$, 'client', item.redacted ?? item.line, false);
    });
    return replies;
  }

  /**
   * Holds writes back until {@link release}, so that what is written next (the next mail's
   * envelope) leaves in the same segment as what was written before (an end of data).
   */
  hold(): void {
    if (this.held || this.ended) return;
    this.held = true;
    this.socket.cork();
  }

  /** Sends what {@link hold} kept back. Idempotent. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    if (!this.ended) this.socket.uncork();
  }

  /** True when the socket's buffer is full and a writer should wait for {@link writable}. */
  get congested(): boolean {
    return this.socket.writableNeedDrain;
  }

  /**
   * Resolves when the socket can take more bytes. A server that stops reading for longer than the
   * timeout fails the connection with `ETIMEDOUT`; a connection that ends rejects with its error.
   */
  writable(): Promise<void> {
    if (this.ended) return Promise.reject(this.closedError());
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    const stalled = (): void =>
      this.fail(new SmtpError('ETIMEDOUT', `the server read nothing for ${this.options.timeout} ms`));
    return whenDrained(this.socket, this.failure$, this.options.timeout, stalled, () => this.ended, () => this.closedError());
  }

  /**
   * Starts TLS on the current socket (after STARTTLS's 220) and completes when the handshake is done.
   * The parser starts afresh on the TLS socket: nothing read before the handshake is read after it.
   * A first server byte that does not open a TLS record is injected text: `ESERVERSYNC`, whether it
   * came in the 220's packet or a later one. The handshake is bounded by the timeout.
   */
  upgrade(tlsOptions: tls.ConnectionOptions): Observable<void> {
    return defer(() => {
      const plain = this.socket;
      this.detach(plain);
      this.wiring.unsubscribe();
      this.wiring = new Subscription();
      this.connected = false;
      const guard = guardFirstRecord(plain, () =>
        this.fail(new SmtpError('ESERVERSYNC', 'bytes that are not TLS after the reply to STARTTLS: response injection refused')),
      );
      const secure = tls.connect({ ...tlsOptions, socket: guard });
      this.underlying.push(plain);
      this.socket = secure;
      this.parser = new ReplyParser(this.options.limits);
      const ready$ = this.attach(secure, 'secureConnect');
      // TLS runs over the guard, which does not pass errors on: the plain socket's come from it.
      this.wiring.add(fromEvent(plain, 'error', (err: Error) => err).subscribe((err) => this.fail(socketError(err))));
      return ready$;
    });
  }

  /** Writes raw bytes (message content); returns false when the socket's buffer is full. */
  writeRaw(bytes: Uint8Array): boolean {
    if (this.ended) return false;
    return this.socket.write(bytes);
  }

  /** Ends the connection now: the socket is destroyed, timers and listeners are removed. Idempotent. */
  destroy(): void {
    this.end(undefined);
  }

  /** Ends the connection with a fatal error: waiting commands and `failure$` receive it. */
  fail(error: SmtpError): void {
    this.end(error);
  }

  private attach(socket: SmtpSocket, readyEvent: ReadyEvent): Observable<void> {
    this.ready = new AsyncSubject<void>();
    this.readyEvent = readyEvent;
    const what = readyEvent === 'connect' ? 'TCP connect' : 'TLS handshake';
    this.connectTimer = setTimeout(
      () => this.fail(new SmtpError('ETIMEDOUT', `${what} did not complete within ${this.options.timeout} ms`)),
      this.options.timeout,
    );
    // Listeners shared by all connections, which find theirs on the socket: an idle connection (one
    // of thousands, for hours) then holds no closure, context or once-wrapper per listener.
    (socket as OwnedSocket)[OWNER] = this;
    socket.on(readyEvent, Connection.onSocketReady).on('data', Connection.onSocketData);
    socket.on('end', Connection.onSocketGone).on('close', Connection.onSocketGone).on('error', Connection.onSocketError);
    return this.ready.asObservable();
  }

  private detach(socket: SmtpSocket): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    socket.off(this.readyEvent, Connection.onSocketReady).off('data', Connection.onSocketData);
    socket.off('end', Connection.onSocketGone).off('close', Connection.onSocketGone).off('error', Connection.onSocketError);
    (socket as OwnedSocket)[OWNER] = undefined;
  }

  private static onSocketReady(this: OwnedSocket): void {
    const conn = this[OWNER];
    if (conn === undefined) return;
    clearTimeout(conn.connectTimer);
    conn.connectTimer = undefined; // a cleared Timeout still weighs 120 bytes for as long as it is held
    this.off(conn.readyEvent, Connection.onSocketReady);
    conn.connected = true;
    conn.armTimer();
    conn.ready.next();
    conn.ready.complete();
  }

  private static onSocketData(this: OwnedSocket, chunk: Buffer): void {
    this[OWNER]?.onData(chunk);
  }

  /** 'end' or 'close', whichever comes first: the second finds the connection already ended. */
  private static onSocketGone(this: OwnedSocket): void {
    const conn = this[OWNER];
    conn?.fail(conn.closedError());
  }

  private static onSocketError(this: OwnedSocket, err: Error): void {
    this[OWNER]?.fail(socketError(err));
  }

  private enqueue(command: CommandSpec | { line: string; redacted: undefined }): Waiter {
    const waiter: Waiter = {
      command: 'redacted' in command && command.redacted !== undefined ? command.redacted : command.line || undefined,
      reply$: new AsyncSubject<SmtpReply>(),
      redactReply: 'redactReply' in command && command.redactReply === true,
      last: 'last' in command && command.last === true,
    };
    if (this.ended) {
      waiter.reply$.error(this.closedError());
      return waiter;
    }
    this.pending.push(waiter);
    if (this.pending.length === 1) this.armTimer();
    return waiter;
  }

  private onData(chunk: Buffer): void {
    // The 220 to STARTTLS is held until the whole chunk is parsed: anything after it is refused
    // before TLS starts (RFC 3207 5 and the 2021 STARTTLS injection study).
    let held: SmtpReply | undefined;
    // Bytes can only answer commands written before they arrived. A reply past those in the same
    // chunk answers nothing, even when an earlier reply of the chunk made the client write a command
    // (else "220 hi\r\n250 x\r\n" would hand the client a fake EHLO reply before it sent EHLO).
    let owed = this.pending.length;
    try {
      this.parser.feed(chunk, (reply) => {
        if (this.ended) return;
        if (held !== undefined) throw this.injection();
        const asked = owed-- > 0;
        if (asked && this.pending[0]?.last === true && reply.code === 220) held = reply;
        else this.onReply(reply, asked);
      });
    } catch (err) {
      this.fail(err instanceof SmtpError ? err : new SmtpError('ESERVERSYNC', String(err)));
      return;
    }
    if (held === undefined || this.ended) return;
    if (!this.parser.idle) this.fail(this.injection());
    else this.onReply(held);
  }

  private injection(): SmtpError {
    return new SmtpError('ESERVERSYNC', `bytes after the reply to ${this.pending[0]?.command}: response injection refused`);
  }

  private onReply(reply: SmtpReply, asked = true): void {
    const waiter = asked ? this.pending.shift() : undefined;
    logTranscript(this.transcript$, 'server', reply, waiter?.redactReply === true);
    this.replies$.next(reply);
    if (waiter === undefined) {
      // 421 is how a server announces it is closing the connection (RFC 5321 3.8), even unasked.
      this.fail(
        reply.code === 421
          ? replyError(reply, undefined)
          : new SmtpError('ESERVERSYNC', `reply to no command: ${sanitize(formatReply(reply).join(' | '))}`, { reply }),
      );
      return;
    }
    if (waiter.last && reply.code === 220) this.detachReading();
    this.armTimer();
    waiter.reply$.next(reply);
    waiter.reply$.complete();
  }

  /** After the last plain-text reply, stop reading: what follows belongs to TLS or is an attack. */
  private detachReading(): void {
    this.socket.pause();
  }

  private armTimer(): void {
    if (this.pending.length === 0 || !this.connected || this.ended) {
      clearTimeout(this.replyTimer);
      this.replyTimer = undefined;
      return;
    }
    this.headSince = Date.now();
    this.replyTimer ??= setTimeout(() => this.onReplyTimer(), this.options.timeout);
  }

  private onReplyTimer(): void {
    this.replyTimer = undefined;
    const head = this.pending[0];
    if (head === undefined || !this.connected || this.ended) return;
    const left = this.headSince + this.options.timeout - Date.now();
    if (left > 0) {
      this.replyTimer = setTimeout(() => this.onReplyTimer(), left);
      return;
    }
    const what = head.command === undefined ? '(greeting)' : `to ${head.command}`;
    const context = head.command === undefined ? {} : { command: head.command };
    this.fail(new SmtpError('ETIMEDOUT', `no complete reply ${what} within ${this.options.timeout} ms`, context));
  }

  private end(error: SmtpError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.fatal = error;
    this.detach(this.socket);
    this.wiring.unsubscribe();
    clearTimeout(this.replyTimer);
    this.replyTimer = undefined;
    // A destroyed socket may still report a late write error; nobody is listening for it any more.
    for (const socket of [this.socket, ...this.underlying]) {
      socket.on('error', ignore);
      socket.destroy();
    }
    // The error is only built when someone is waiting for it: building one captures a stack trace,
    // and most connections end by a QUIT with nothing left waiting.
    if (this.pending.length > 0 || !this.connected) {
      const reason = error ?? this.closedError();
      for (const waiter of this.pending.splice(0)) waiter.reply$.error(reason);
      this.ready.error(reason);
    }
    if (error !== undefined) {
      this.options.sinks?.failure(error);
      this.failure$.next(error);
      this.failure$.complete();
    } else {
      this.failure$.complete();
    }
    if (this.options.sinks !== undefined) return;
    this.replies$.complete();
    this.transcript$.complete();
  }

  private closedError(): SmtpError {
    if (this.fatal !== undefined) return this.fatal;
    const head = this.pending[0];
    return new SmtpError(
      'ESHUTDOWN',
      `the server closed the connection${head?.command === undefined ? '' : ` while waiting for the reply to ${head.command}`}`,
      head?.command === undefined ? {} : { command: head.command },
    );
  }
}

function ignore(): void {}
