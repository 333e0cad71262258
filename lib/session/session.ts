import {
  BehaviorSubject,
  EMPTY,
  Observable,
  type ObservableInput,
  Subject,
  Subscription,
  catchError,
  concat,
  defer,
  finalize,
  ignoreElements,
  map,
  of,
  throwError,
} from 'rxjs';
import { abortError, aborted$ } from '../abort';
import { type ServerAddress, type ServerTarget, parseServerAddress } from '../address';
import type { CallOptions } from '../call-options';
import { checkCredentials } from '../credentials';
import { traced } from '../debug';
import type { Credentials } from '../dialogue/auth/mechanism';
import type { DialogueContext } from '../dialogue/context';
import { expectReply } from '../dialogue/expect';
import { quit } from '../dialogue/quit';
import { sequence } from '../dialogue/sequence';
import type { SessionState, SessionStatus, Transition } from '../dialogue/transition';
import { SmtpError, asSmtpError, isInSync } from '../errors';
import type { Mail, SendOutcome, SendResult } from '../mail/mail';
import { type ResolvedOptions, type SessionOptions, resolveOptions } from '../options';
import type { SmtpReply } from '../reply/reply';
import type { TransferContext, TransferSettings } from '../send/context';
import { CallLedger } from '../send/ledger';
import { mailInputOf } from '../send/mail-input';
import { resultOf } from '../send/outcome';
import { transfer$ } from '../send/transfer';
import { SendWindow } from '../send/window';
import { Connection } from '../transport/connection';
import type { TranscriptLine } from '../transport/transcript';
import type { Transport } from '../transport/transport';
import { dialogue$, openConnection } from './dial';
import { keepAlive$ } from './keep-alive';
import { type QueueEntry, SessionQueue, endsSession, queuedCommand } from './queue';
import { nextState } from './state';
import type { SmtpSession } from './smtp-session';

/** States in which a connect is running. */
const CONNECTING: readonly SessionStatus[] = ['connecting', 'greeting', 'ehlo', 'helo', 'starttls', 'authenticating'];
/** States in which the session holds an established connection. */
const ESTABLISHED: readonly SessionStatus[] = ['connected', 'sending', 'quitting'];

/**
 * Creates a session. Nothing is opened until `connect()` is subscribed.
 *
 * @throws {@link SmtpError} `EINVAL` for an unknown option or a bad value.
 * @example
 * ```ts
 * const session = createSession({ timeout: 30_000, clientName: 'client.example.com' });
 * ```
 */
export function createSession(options?: SessionOptions): SmtpSession {
  return start(resolveOptions(options));
}

/**
 * {@link createSession} with a test's seams: where the sockets come from, so that a fake transport
 * can run a whole dialogue in the virtual time of RxJS's `TestScheduler`. Not part of the public API.
 *
 * @example
 * ```ts
 * const session = createSessionWith({ scheduler }, { transport: fakeTransport });
 * ```
 */
export function createSessionWith(options: SessionOptions | undefined, seams: { transport: Transport }): SmtpSession {
  return start({ ...resolveOptions(options), transport: seams.transport });
}

function start(resolved: ResolvedOptions): SmtpSession {
  const session = new Session(resolved);
  const signal = resolved.signal;
  // Aborting the session's signal disposes it; the watch ends with the session either way.
  if (signal !== undefined) session.disposeOn(signal);
  return traced(session);
}

/** The session: its state, its connection, and the queue of calls the connection works through. */
export class Session implements SmtpSession {
  private readonly stateSubject = new BehaviorSubject<SessionState>({ status: 'idle', secure: false });
  private readonly replySubject = new Subject<SmtpReply>();
  private readonly transcriptSubject = new Subject<TranscriptLine>();
  readonly state$ = this.stateSubject.asObservable();
  readonly replies$ = this.replySubject.asObservable();
  readonly transcript$ = this.transcriptSubject.asObservable();

  private conn: Connection | undefined;
  private server: { host: string; port: number } | undefined;
  private ctx: DialogueContext | undefined;
  /** How this connection sends, from its capabilities and the options; set once connected. */
  private settings: TransferSettings | undefined;
  /** Made when the first mail is sent on the connection (see {@link transferOn}). */
  private transfer: TransferContext | undefined;
  private readonly queue = new SessionQueue();
  /** The queue being worked through, while it has calls; ends with the connection. */
  private work = Subscription.EMPTY;
  /** The keep-alive NOOPs, if asked; end with the connection. */
  private keepAliveWatch = Subscription.EMPTY;
  private quitting = false;
  /** The watch on `SessionOptions.signal`, if one was given. */
  private signalWatch: Subscription | undefined;
  /** The connection has ended (set before the calls in the queue hear of it). */
  private gone = false;
  private disposed = false;

  constructor(private readonly options: ResolvedOptions) {}

  /** Aborting `signal` disposes the session (calls still running end with `ECANCELED`); the watch ends with the session. */
  disposeOn(signal: AbortSignal): void {
    this.signalWatch = aborted$(signal).subscribe(() => this.dispose(abortError(signal)));
  }

  get state(): SessionState {
    return this.stateSubject.value;
  }

  get capabilities(): ReadonlyMap<string, string> | null {
    return this.ctx?.capabilities ?? null;
  }

  connect(server: ServerAddress, username?: string | null, password?: string | null): Observable<SessionState> {
    return defer(() => {
      this.assertUsable();
      const target = parseServerAddress(server);
      const credentials = checkCredentials(username, password);
      const { status } = this.state;
      if (CONNECTING.includes(status)) throw new SmtpError('EINPROGRESS', `a connect is already in progress (state ${status})`);
      if (ESTABLISHED.includes(status)) throw new SmtpError('EISCONN', `the session is already connected (state ${status})`);
      return this.dial(target, credentials);
    });
  }

  send(mail: Mail, options?: CallOptions): Observable<SendResult> {
    return this.sendAll([mail], options).pipe(map(resultOf));
  }

  sendAll(mails: ObservableInput<Mail>, options: CallOptions = {}): Observable<SendOutcome> {
    return new Observable<SendOutcome>((subscriber) => {
      const refusal = this.refusal('send');
      if (refusal !== undefined) return subscriber.error(refusal);
      const input = mailInputOf(mails);
      if (input instanceof SmtpError) return subscriber.error(input);
      const { signal, ...hooks } = options;
      const entry: QueueEntry = { kind: 'mails', ledger: new CallLedger(input, subscriber, hooks, () => this.queue.remove(entry)) };
      const abort = signal === undefined ? undefined : aborted$(signal).subscribe(() => entry.ledger.abort(abortError(signal)));
      if (!entry.ledger.isEnded) this.queue.push(entry);
      return () => {
        abort?.unsubscribe();
        entry.ledger.cancel();
      };
    });
  }

  reset(): Observable<SmtpReply> {
    return this.command('RSET');
  }

  noop(): Observable<SmtpReply> {
    return this.command('NOOP');
  }

  quit(): Observable<SmtpReply> {
    return defer(() => {
      this.assertUsable();
      const conn = this.conn;
      if (this.quitting || this.gone || conn === undefined || this.state.status === 'idle' || this.state.status === 'closed') return EMPTY;
      this.quitting = true;
      const run$ = defer(() => {
        this.transition({ status: 'quitting' });
        return quit(conn);
      }).pipe(
        finalize(() => {
          conn.destroy();
          if (this.conn === conn) this.close(undefined);
        }),
      );
      // Nothing queued or running: QUIT goes now, as the queue would send it, without the queue's
      // entry and its watches (what most sessions end with).
      if (this.queue.length === 0 && this.work.closed && this.state.status === 'connected') {
        return run$.pipe(catchError((err: unknown) => this.commandFailed(conn, err)));
      }
      return queuedCommand(this.queue, run$);
    });
  }

  /** `reason` (ECANCELED, from `SessionOptions.signal`) is what calls still running error with; by default `EINVAL`. */
  dispose(reason?: SmtpError): void {
    if (this.disposed) return;
    this.disposed = true;
    // The queue's work stops first, so that nothing reacts to the connection's end as to a failure.
    this.work.unsubscribe();
    this.keepAliveWatch.unsubscribe();
    // Built only when something still hears of it: an error captures a stack, and most sessions are
    // disposed after their QUIT closed the connection, with nothing queued.
    if (this.queue.length > 0 || (this.conn !== undefined && !this.conn.isClosed)) {
      const error = reason ?? new SmtpError('EINVAL', 'the session was disposed');
      this.conn?.destroy(error);
      this.queue.failAll(error);
    }
    if (this.state.status !== 'closed' && this.state.status !== 'idle') this.close(undefined);
    this.stateSubject.complete();
    this.replySubject.complete();
    this.transcriptSubject.complete();
    this.signalWatch?.unsubscribe();
  }

  /** RSET and NOOP: 250 expected; a 4xx/5xx is the caller's error, a 421 or anything else also ends the session. */
  private command(line: 'RSET' | 'NOOP'): Observable<SmtpReply> {
    return defer(() => {
      const refusal = this.refusal(line);
      if (refusal !== undefined) throw refusal;
      const run$ = defer(() => this.conn!.request({ line })).pipe(map((reply) => expectReply(reply, [250], line)));
      return queuedCommand(this.queue, run$);
    });
  }

  /** A command run outside the queue failed: the caller gets the error, and the session ends as the queue's work would end it. */
  private commandFailed(conn: Connection, err: unknown): Observable<never> {
    if (endsSession(err)) this.connectionFailed(conn, asSmtpError(err));
    return throwError(() => err);
  }

  /** Why a call cannot be made now (disposed, not connected, quitting), or undefined when it can be queued. */
  private refusal(what: string): SmtpError | undefined {
    if (this.disposed) return new SmtpError('EINVAL', 'the session has been disposed');
    const { status } = this.state;
    if (this.quitting) return new SmtpError('EPERM', `cannot ${what}: the session is quitting`);
    if (this.gone) return new SmtpError('EPERM', `cannot ${what}: the connection has closed`);
    if (CONNECTING.includes(status) || ESTABLISHED.includes(status)) return undefined;
    return new SmtpError('EPERM', `cannot ${what}: the session is not connected (state ${status})`);
  }

  private assertUsable(): void {
    if (this.disposed) throw new SmtpError('EINVAL', 'the session has been disposed');
  }

  /** Connects; unsubscribing before `connected` closes the socket and leaves the session closed, without an error. */
  private dial(target: ServerTarget, credentials: Credentials | undefined): Observable<SessionState> {
    return defer(() => {
      const sinks = { replies: this.replySubject, transcript: this.transcriptSubject, failure: (e: SmtpError) => this.connectionFailed(conn, e) };
      const conn = openConnection(target, this.options, sinks);
      this.adopt(conn, target);
      return sequence(
        dialogue$(conn, target, this.options, credentials, (ctx) => (this.ctx = ctx)).pipe(map((step: Transition) => this.transition(step))),
        defer(() => of(this.established(conn))),
      ).pipe(
        catchError((err: unknown) => {
          const error = asSmtpError(err);
          return concat(this.closeAfterFailure(conn, error), throwError(() => error));
        }),
        finalize(() => {
          if (this.conn === conn && CONNECTING.includes(this.state.status)) {
            conn.destroy();
            this.close(undefined);
          }
        }),
      );
    });
  }

  /** Makes `conn` the session's connection: what was bound to the one before goes with it. */
  private adopt(conn: Connection, target: ServerTarget): void {
    this.work.unsubscribe();
    this.keepAliveWatch.unsubscribe();
    this.conn = conn;
    this.server = { host: target.host, port: target.port };
    this.ctx = undefined;
    this.settings = undefined;
    this.transfer = undefined;
    this.quitting = false;
    this.gone = false;
  }

  /** The connect succeeded: the queue's calls start, and the keep-alive if asked. */
  private established(conn: Connection): SessionState {
    const caps = this.capabilities ?? new Map<string, string>();
    const pipelining = caps.has('PIPELINING') ? this.options.pipelining : 'off';
    const chunking = this.options.chunking && caps.has('CHUNKING');
    this.settings = { pipelining, chunking, lmtp: this.options.lmtp };
    const state = this.transition({ status: 'connected' });
    this.queue.onChange = () => this.queueChanged(conn);
    this.keepAliveWatch = this.keepAlive();
    // What was queued while connecting.
    this.queueChanged(conn);
    return state;
  }

  /**
   * At each change of the queue: `sending` while a call with mails is in it, `connected` once none is
   * (the protocol's own clean-up after a cancelled mail, an RSET, may still be on the wire); and its
   * calls worked through, unless they are being already. Nothing runs while the queue is empty: an
   * idle session (one of thousands) holds no subscription for it.
   */
  private queueChanged(conn: Connection): void {
    this.showSending(this.queue.hasMails);
    if (!this.work.closed || this.queue.head === undefined) return;
    this.work = this.drain$().subscribe({ error: (err: unknown) => this.connectionFailed(conn, asSmtpError(err)) });
  }

  private showSending(sending: boolean): void {
    const { status } = this.state;
    if (sending && status === 'connected') this.transition({ status: 'sending' });
    else if (!sending && status === 'sending') this.transition({ status: 'connected' });
  }

  /** Works through the queue, call after call, until it is empty: mails by the transfer, commands as they are. */
  private drain$(): Observable<never> {
    return defer(() => {
      const head = this.queue.head;
      const conn = this.conn;
      if (head === undefined || this.settings === undefined || conn === undefined) return EMPTY;
      if (head.kind === 'command') return sequence(head.run$.pipe(ignoreElements()), this.drain$());
      return sequence(transfer$((this.transfer ??= this.transferOn(conn, this.settings))), this.drain$());
    });
  }

  /**
   * What the transaction strategies share on `conn`: made with the first mail, not at the connect,
   * so that a session that never sends (one of thousands kept idle) holds none of it.
   */
  private transferOn(conn: Connection, settings: TransferSettings): TransferContext {
    return {
      conn,
      capabilities: this.capabilities ?? new Map<string, string>(),
      settings,
      source: this.queue,
      window: settings.chunking ? new SendWindow(this.options.window.mails, this.options.window.bytes) : undefined,
      unansweredEndOfData: 0,
      transactions: 0,
      downgrade: () => this.downgrade(),
    };
  }

  /** RFC 2920 refused behind an end of data: this connection waits for each end-of-data reply from now on. */
  private downgrade(): void {
    if (this.settings === undefined || this.settings.pipelining !== 'across-mails') return;
    this.settings.pipelining = 'within-mail';
    this.transition({ status: this.state.status });
  }

  /** Each time the session settles into `connected`, a NOOP after `keepAlive` ms of it, and again. */
  private keepAlive(): Subscription {
    const every = this.options.keepAlive;
    return every === undefined ? Subscription.EMPTY : keepAlive$(this.state$, every, this.options.scheduler, () => this.noop()).subscribe();
  }

  /** The connection died. During a connect the failing command carries the error; once established, the state does. */
  private connectionFailed(conn: Connection, error: SmtpError): void {
    if (this.disposed) return;
    conn.fail(error);
    if (this.conn !== conn || !ESTABLISHED.includes(this.state.status)) return;
    // Closed to cancel a mail inside DATA: the caller's own doing, not the session failing.
    if (error.code === 'ECANCELED') this.close(undefined, error);
    else this.close(error);
  }

  /** QUIT first when both sides are still in step, then close; emits nothing, completes when closed. */
  private closeAfterFailure(conn: Connection, error: SmtpError): Observable<never> {
    const polite = isInSync(error) && !conn.isClosed && error.reply?.code !== 421;
    return (polite ? quit(conn).pipe(catchError(() => EMPTY), ignoreElements()) : EMPTY).pipe(
      finalize(() => {
        conn.destroy();
        if (this.conn === conn) this.close(error);
      }),
    );
  }

  /** The connection is gone: every call still queued ends, with `error` or as not connected. */
  private close(error: SmtpError | undefined, callsEndWith = error): void {
    this.work.unsubscribe();
    this.keepAliveWatch.unsubscribe();
    this.settings = undefined;
    this.transfer = undefined;
    // Closed first, so that a caller who hears of the end and tries again sees a closed session.
    this.gone = true;
    if (this.state.status !== 'closed') this.transition({ status: 'closed' }, error);
    // Built only for calls still queued: an error captures a stack, and most sessions end by QUIT with none.
    if (this.queue.length > 0) this.queue.failAll(callsEndWith ?? new SmtpError('ESHUTDOWN', 'the session was closed'));
  }

  private transition(step: Transition, error?: SmtpError): SessionState {
    const state = nextState(this.state, step, { conn: this.conn, server: this.server, settings: this.settings }, error);
    if (!this.disposed || step.status === 'closed') this.stateSubject.next(state);
    return state;
  }
}
