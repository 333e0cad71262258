import type * as tls from 'node:tls';
import {
  AsyncSubject,
  Observable,
  type SchedulerLike,
  Subject,
  Subscription,
  asyncScheduler,
  defer,
  fromEvent,
  of,
  takeUntil,
  tap,
  throwError,
  throwIfEmpty,
} from 'rxjs';
import { SmtpError } from '../errors';
import { parseReplies } from '../reply/parse-replies';
import type { SmtpReply } from '../reply/reply';
import { readyTimeoutError, shutdownError, stalledError, upgradeError } from './connection-errors';
import type { ConnectionOptions } from './connection-options';
import { ReplyClock, within } from './deadline';
import { type Answer, matchReplies } from './match-replies';
import { Reading, type ReplyReader } from './reading';
import type { ReadyEvent, SmtpSocket } from './socket';
import { socketClosed$, socketData$, socketEvent$ } from './socket-events';
import type { TranscriptLine } from './transcript';
import { logTranscript } from './transcript-log';
import { TickBatches } from './tick-batch';
import { type ReplyCheck, ReplyGroup } from './reply-group';
import { nodeTransport } from './transport';
import { type CommandSpec, type WriteItem, writeItems } from './write-batch';
import { type ReplySink, type Waiter, WaiterQueue } from './waiters';

export type { CommandSpec, WriteItem } from './write-batch';
export type { ConnectionOptions } from './connection-options';

/**
 * One SMTP connection. The socket's bytes go through `parseReplies` into a stream of replies that
 * ends, through `takeUntil`, when the socket closes (`ESHUTDOWN` made explicit after it); each reply
 * answers the oldest waiting command ({@link matchReplies}); while any command waits, RxJS's
 * `timeout` turns silence into `ETIMEDOUT` ({@link replyDeadline}). The first fatal error ends the
 * connection: every waiting command errors with it, and `ended$` emits.
 *
 * Writes made in one turn of the event loop leave in one socket write (corked until the next tick),
 * so that pipelined commands (RFC 2920), or a message's end of data and the next envelope, share a
 * TCP segment.
 *
 * @example
 * ```ts
 * const conn = new Connection(socket, 'connect', { timeout: 10_000, limits });
 * conn.ready$.pipe(concatMap(() => conn.read())).subscribe((greeting) => console.log(greeting.code));
 * ```
 */
export class Connection implements ReplyReader {
  /** Every reply, in order. */
  readonly replies$: Subject<SmtpReply>;
  /** Every line written and read, redacted and sanitised. */
  readonly transcript$: Subject<TranscriptLine>;
  /** Made when first asked for: most connections end with nobody listening. */
  private endedSubject: AsyncSubject<void> | undefined;

  private socket: SmtpSocket;
  /** The plain socket under TLS after an upgrade, destroyed with it. */
  private plain: SmtpSocket | undefined;
  private readonly waiting = new WaiterQueue();
  /** The oldest waiting command's deadline (see {@link ReplyClock}). */
  private readonly clock: ReplyClock;
  private readonly scheduler: SchedulerLike;
  /** The current socket's reply stream (parsed, matched, ended by its close). */
  private reading = Subscription.EMPTY;
  /** The current socket's ready event within the timeout; over once it came. */
  private readyWait = Subscription.EMPTY;
  /** The TLS socket's new sessions (tickets) going to `onTlsSession`, when the connection keeps them. */
  private tlsWatch = Subscription.EMPTY;
  /**
   * Completes when the current socket is ready; made afresh for the TLS socket of an upgrade, and let
   * go once the socket is ready (an idle connection, one of thousands, holds none).
   */
  private ready: AsyncSubject<void> | undefined;
  private connected = false;
  /** The current socket speaks TLS (implicit TLS, or since the upgrade). */
  private tls = false;
  private ended = false;
  private readonly batches = new TickBatches();
  /** The 220 to STARTTLS came: the plain reply stream ends with it, and its end is no shutdown. */
  private plainEnded = false;
  /** The TLS handshake after STARTTLS is under way: a failure to read a record is injected text. */
  private upgrading = false;
  /** Why the connection ended: what every later request gets too. */
  private reason: SmtpError | undefined;

  constructor(
    socket: SmtpSocket,
    readyEvent: ReadyEvent,
    private readonly options: ConnectionOptions,
  ) {
    this.socket = socket;
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.replies$ = options.sinks?.replies ?? new Subject<SmtpReply>();
    this.transcript$ = options.sinks?.transcript ?? new Subject<TranscriptLine>();
    this.clock = new ReplyClock(options.timeout, this.scheduler, this.waiting, this);
    this.listen(socket, readyEvent);
  }

  /** Completes when the current socket is connected (for implicit TLS, and during an upgrade, once the handshake is done); errors if the connection ends first. */
  get ready$(): Observable<void> {
    return this.ready ?? readyNow$;
  }

  /** Emits once when the connection ends, by any cause, and completes; {@link closedError} says why. */
  get ended$(): Observable<void> {
    if (this.endedSubject === undefined) {
      this.endedSubject = new AsyncSubject<void>();
      if (this.ended) {
        this.endedSubject.next();
        this.endedSubject.complete();
      }
    }
    return this.endedSubject;
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
    return this.tls && this.connected && !this.ended;
  }

  /** The socket currently carrying the conversation (the TLS socket after an upgrade). */
  get currentSocket(): SmtpSocket {
    return this.socket;
  }

  /** True when the socket's buffer is full and a writer should wait for {@link drained}. */
  get congested(): boolean {
    return this.socket.writableLength >= this.socket.writableHighWaterMark;
  }

  /** Waits for a reply without writing anything first (the greeting). Cold. */
  read(): Observable<SmtpReply> {
    return new Observable<SmtpReply>((to) => {
      if (this.ended) to.error(this.closedError());
      else this.enqueue({ command: undefined, to, redactReply: false, last: false, final: true });
    });
  }

  /** Writes one command and emits its reply. Cold: nothing is written before subscription. */
  request(command: CommandSpec): Observable<SmtpReply> {
    return this.send([command]);
  }

  /**
   * Writes commands, raw bytes (message content) and reply placeholders, and emits one reply per
   * command or placeholder, in order, completing after the last (at once when none is owed). Cold:
   * the write happens on subscription. Unsubscribing drops the replies still to come, but they are
   * still read, in order, as the protocol requires.
   */
  send(items: readonly WriteItem[]): Observable<SmtpReply> {
    return new Observable<SmtpReply>((to) => this.write(items, to));
  }

  /**
   * Writes like {@link send}, and emits the replies as one array once the last has come: a group's
   * replies with one emission and no operator behind it (the way a pipelined transaction reads its
   * envelope, or a message its end of data). `check` sees each reply as it comes, with its position:
   * it may throw (the Observable errors at once, the two sides out of step) or return `'stop'` (the
   * array so far is emitted: a 421, after which the server closes).
   *
   * @example
   * ```ts
   * conn.exchange([{ line: mailFrom }, { line: rcptTo }, { line: 'DATA' }]).subscribe((replies) => judge(replies));
   * ```
   */
  exchange(items: readonly WriteItem[], check?: ReplyCheck): Observable<SmtpReply[]> {
    return new Observable<SmtpReply[]>((subscriber) => this.write(items, new ReplyGroup(subscriber, check)));
  }

  /** Writes `items` now (see {@link writeItems}), their replies going to `to`; at once errors `to` on a connection that has ended. */
  private write(items: readonly WriteItem[], to: ReplySink): void {
    if (this.ended) return to.error(this.closedError());
    this.batches.hold(this.socket);
    if (!writeItems(this.socket, items, to, this.transcript$, (waiter) => this.enqueue(waiter))) to.complete();
  }

  /** Writes raw bytes (message content); returns false when the socket's buffer is full. */
  writeRaw(bytes: Uint8Array): boolean {
    if (this.ended) return false;
    this.batches.hold(this.socket);
    return this.socket.write(bytes);
  }

  /**
   * Completes when the socket can take more bytes (at once when it can now). A server that reads
   * nothing for the timeout fails the connection with `ETIMEDOUT`; a connection that ends errors
   * with its error.
   */
  drained(): Observable<void> {
    return defer(() => {
      if (this.ended) return throwError(() => this.closedError());
      // What this tick holds goes now: whether the socket can take more is known once it has tried
      // (a write the kernel took at once leaves nothing buffered, though the stream still says it
      // needs a drain until its next tick).
      this.batches.release();
      if (!this.congested) return of(undefined);
      return socketEvent$(this.socket, 'drain').pipe(
        within(this.options.timeout, this.scheduler, () => stalledError(this.options.timeout)),
        tap({ error: (err: SmtpError) => this.fail(err) }),
        takeUntil(this.ended$),
        throwIfEmpty(() => this.closedError()),
      );
    });
  }

  /**
   * Starts TLS on the current socket (after STARTTLS's 220) and completes when the handshake is done.
   * Replies are read afresh on the TLS socket: nothing read before the handshake is read after it.
   * Text after the 220 is injected (RFC 3207 5): in the 220's packet the reply stream refuses it
   * (see {@link endsPlainText}); in a later one it reaches TLS, which reads no record in it, and the
   * handshake's failure is `ESERVERSYNC` (see {@link upgradeError}). The handshake is bounded by the
   * timeout. TLS runs natively on the socket's handle: no JavaScript stream sits between them.
   */
  upgrade(tlsOptions: tls.ConnectionOptions): Observable<void> {
    return defer(() => {
      const plain = this.socket;
      this.batches.release();
      this.unwire();
      this.connected = false;
      this.plainEnded = false;
      this.upgrading = true;
      const secure = (this.options.transport ?? nodeTransport).upgrade(plain, tlsOptions);
      this.plain = plain;
      this.socket = secure;
      return this.listen(secure, 'secureConnect');
    });
  }

  /** Ends the connection now, as the client's own decision: waiting commands get `reason` (default `ESHUTDOWN`). Idempotent. */
  destroy(reason?: SmtpError): void {
    this.end(reason, false);
  }

  /** Ends the connection with a fatal error: waiting commands and the owner's failure handler receive it. */
  fail(error: SmtpError): void {
    this.end(this.upgrading ? upgradeError(error) : error, true);
  }

  /** Why the connection ended (or would, if it ended now): its error, or `ESHUTDOWN` naming the oldest waiting command. */
  closedError(): SmtpError {
    return this.reason ?? shutdownError(this.waiting.oldest?.command);
  }

  /**
   * Wires a socket: the ready event within the timeout, then its replies — parsed, ended by the
   * socket's close, matched to the waiting commands — and the reply deadline over them.
   */
  private listen(socket: SmtpSocket, readyEvent: ReadyEvent): Observable<void> {
    const ready = (this.ready = new AsyncSubject<void>());
    this.tls = readyEvent === 'secureConnect';
    const onTlsSession = this.options.onTlsSession;
    if (this.tls && onTlsSession !== undefined) this.tlsWatch = fromEvent(socket, 'session', (session: Buffer) => session).subscribe(onTlsSession);
    const { timeout, limits } = this.options;
    const readyWait = socketEvent$(socket, readyEvent)
      .pipe(within(timeout, this.scheduler, () => readyTimeoutError(readyEvent, timeout)))
      .subscribe({ next: () => this.onReady(), error: (err: SmtpError) => this.fail(err) });
    // A socket ready at once (a test's fake) is ready before the assignment: nothing is left to hold.
    if (!this.connected) this.readyWait = readyWait;
    // As each chunk comes, before it is parsed: the commands its replies may answer (see matchReplies).
    const replies$ = socketData$(socket, this.waiting).pipe(
      parseReplies({ ...limits, last: (reply) => this.endsPlainText(reply) }),
      takeUntil(socketClosed$(socket)),
    );
    this.reading = replies$.pipe(matchReplies(this.waiting, this.waiting)).subscribe(new Reading(this));
    return ready.asObservable();
  }

  /** Stops listening to the current socket (the upgrade moves to another; the end to none). */
  private unwire(): void {
    this.reading.unsubscribe();
    this.readyWait.unsubscribe();
    this.readyWait = Subscription.EMPTY;
    this.tlsWatch.unsubscribe();
    this.tlsWatch = Subscription.EMPTY;
  }

  private onReady(): void {
    this.readyWait = Subscription.EMPTY;
    this.upgrading = false;
    this.connected = true;
    this.updateBusy();
    const ready = this.ready;
    this.ready = undefined;
    ready?.next();
    ready?.complete();
  }

  /** RFC 3207 4: the 220 to STARTTLS is the last plain-text reply; nothing may follow it in clear. */
  private endsPlainText(reply: SmtpReply): boolean {
    const ends = reply.code === 220 && this.waiting.owed > 0 && this.waiting.oldest?.last === true;
    if (ends) this.plainEnded = true;
    return ends;
  }

  private enqueue(waiter: Waiter): void {
    this.waiting.push(waiter);
    this.updateBusy();
  }

  /** A reply came, and the command it answers (see {@link Reading}). */
  answered({ reply, waiter }: Answer): void {
    logTranscript(this.transcript$, 'server', reply, waiter?.redactReply === true);
    // Only when someone listens: a Subject keeps a copy of its observers from its first `next`.
    if (this.replies$.observed) this.replies$.next(reply);
    if (waiter === undefined) return; // the reply stream errors right after
    // After the last plain-text reply, stop reading: what follows belongs to TLS or is an attack.
    if (waiter.last && reply.code === 220) this.socket.pause();
    waiter.to.next(reply);
    if (waiter.final) waiter.to.complete();
    // After the reply was handled: what it made the client write keeps the deadline running (a
    // message's end of data and the next envelope), so a steady stream never tears it down.
    this.updateBusy(true);
  }

  /** After a reply (`answered`) the oldest waiting command changed: its deadline starts now. */
  private updateBusy(answered = false): void {
    this.clock.update(this.connected && !this.ended && this.waiting.length > 0, answered);
  }

  /**
   * Whether what was written last has left for the socket: a batch is held (corked) until the next
   * tick, and a connection that ends before then drops it, so that its bytes never went out.
   *
   * @example
   * ```ts
   * conn.send(endOfData).subscribe(...);
   * task.endOfDataLeft = conn.leftCheck(); // later: true once the batch was let go
   * ```
   */
  leftCheck(): () => boolean {
    return this.batches.leftCheck();
  }

  /**
   * The reply stream ended: the socket closed (takeUntil), so `ESHUTDOWN`, made explicit here;
   * after STARTTLS's 220 the plain stream just ends (see {@link Reading}).
   */
  readEnded(): void {
    if (!this.plainEnded) this.fail(this.closedError());
  }

  private end(error: SmtpError | undefined, failed: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.batches.drop();
    this.reason = error;
    this.unwire();
    this.clock.update(false, false);
    // A destroyed socket may still report a late write error; nobody is listening for it any more.
    for (const socket of this.plain === undefined ? [this.socket] : [this.socket, this.plain]) {
      socket.on('error', ignore);
      socket.destroy();
    }
    // The error is only built when someone is waiting for it: building one captures a stack trace,
    // and most connections end by a QUIT with nothing left waiting.
    if (this.waiting.length > 0 || !this.connected) {
      const reason = this.closedError();
      for (const waiter of this.waiting.drain()) waiter.to.error(reason);
      this.ready?.error(reason);
    }
    if (failed && error !== undefined) this.options.sinks?.failure(error);
    this.endedSubject?.next();
    this.endedSubject?.complete();
    if (this.options.sinks !== undefined) return;
    this.replies$.complete();
    this.transcript$.complete();
  }
}

function ignore(): void {}

/** The ready$ of a connection whose socket is ready: emits at once and completes. */
const readyNow$: Observable<void> = of(undefined);
