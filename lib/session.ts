import * as tls from 'node:tls';
import {
  BehaviorSubject,
  EMPTY,
  Observable,
  type ObservableInput,
  Subject,
  Subscription,
  catchError,
  concat,
  concatMap,
  defer,
  distinctUntilChanged,
  finalize,
  ignoreElements,
  interval,
  map,
  of,
  switchMap,
  throwError,
} from 'rxjs';
import { type ServerAddress, type ServerTarget, parseServerAddress } from './address';
import { defaultClientName } from './client-name';
import { type CallOptions, abortable, disposeOnAbort } from './abort';
import { traced } from './debug';
import { checkCredentials } from './credentials';
import { authenticate } from './dialogue/auth/authenticate';
import type { Credentials } from './dialogue/auth/mechanism';
import type { DialogueContext } from './dialogue/context';
import { ehlo } from './dialogue/ehlo';
import { expectReply } from './dialogue/expect';
import { greeting } from './dialogue/greeting';
import { quit } from './dialogue/quit';
import { starttls } from './dialogue/starttls';
import type { SessionState, SessionStatus, TlsInfo, Transition } from './dialogue/transition';
import { SmtpError, isInSync } from './errors';
import { type ResolvedOptions, type SessionOptions, type TlsMode, resolveOptions } from './options';
import type { Mail, SendOutcome, SendResult } from './mail/mail';
import type { SmtpReply } from './reply/reply';
import { MailQueue } from './send/mail-queue';
import { resultOf } from './send/outcome';
import { Transfer } from './send/transfer';
import { Connection } from './transport/connection';
import { openSocket, peerSubject, secureDefaults } from './transport/socket';
import type { TranscriptLine } from './transport/transcript';

/**
 * An SMTP client session: one connection at a time, its state as a stream, and the operations on it.
 *
 * @example
 * ```ts
 * const session = createSession({ timeout: 10_000 });
 * session.state$.subscribe((s) => console.log(s.status));
 * session.connect('smtp://localhost:2525', 'alice', 's3cret').subscribe({ error: (e) => console.error(e.code) });
 * ```
 */
export interface SmtpSession {
  /** The current state on subscribe, then every transition; never errors; completes on dispose(). */
  readonly state$: Observable<SessionState>;
  /** Every parsed server reply, hot. */
  readonly replies$: Observable<SmtpReply>;
  /** Every line sent and received, in order; AUTH payloads replaced by `[redacted]`. Hot. */
  readonly transcript$: Observable<TranscriptLine>;
  /** The current state, synchronously. */
  readonly state: SessionState;
  /** EHLO keywords (upper-case) → parameters; null before EHLO, empty after a HELO fallback. */
  readonly capabilities: ReadonlyMap<string, string> | null;
  /** Connects, greets, upgrades to TLS and authenticates; cold, emits each state and completes at `connected`. */
  connect(server: ServerAddress, username?: string | null, password?: string | null): Observable<SessionState>;
  /** Sends one mail; emits its result and completes, or errors with an {@link SmtpError}. `signal` cancels. */
  send(mail: Mail, options?: CallOptions): Observable<SendResult>;
  /** Sends mails one transaction after another, pipelined; one outcome per mail, in order. `signal` cancels. */
  sendAll(mails: ObservableInput<Mail>, options?: CallOptions): Observable<SendOutcome>;
  /** Sends RSET. */
  reset(): Observable<SmtpReply>;
  /** Sends NOOP. */
  noop(): Observable<SmtpReply>;
  /** Sends QUIT, waits for 221 (or a close) and closes the socket. */
  quit(): Observable<SmtpReply>;
  /** Closes at once and completes `state$`; every later call errors with `EINVAL`. */
  dispose(): void;
}

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
  const resolved = resolveOptions(options);
  return traced(disposeOnAbort(new Session(resolved), resolved.signal));
}

class Session implements SmtpSession {
  private readonly stateSubject = new BehaviorSubject<SessionState>({ status: 'idle', secure: false });
  private readonly replySubject = new Subject<SmtpReply>();
  private readonly transcriptSubject = new Subject<TranscriptLine>();
  readonly state$ = this.stateSubject.asObservable();
  readonly replies$ = this.replySubject.asObservable();
  readonly transcript$ = this.transcriptSubject.asObservable();

  private conn: Connection | undefined;
  private server: { host: string; port: number } | undefined;
  private ctx: DialogueContext | undefined;
  private connWiring = new Subscription();
  private disposed = false;

  constructor(private readonly options: ResolvedOptions) {}

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

  sendAll(mails: ObservableInput<Mail>, options?: CallOptions): Observable<SendOutcome> {
    const sendAll$ = defer(() => {
      const conn = this.established('send');
      return new Observable<SendOutcome>((subscriber) => {
        const caps = this.capabilities ?? new Map<string, string>();
        const transfer = new Transfer(conn, {
          capabilities: caps,
          pipelining: caps.has('PIPELINING'),
          chunking: this.options.chunking && caps.has('CHUNKING'),
          lmtp: this.options.lmtp,
        });
        const queue = new MailQueue(mails);
        let finished = false;
        this.transition({ status: 'sending' });
        transfer.run(queue, (outcome) => subscriber.next(outcome)).then(
          () => {
            finished = true;
            if (this.conn === conn && this.state.status === 'sending') this.transition({ status: 'connected' });
            subscriber.complete();
          },
          (err: SmtpError) => {
            finished = true;
            conn.destroy();
            if (this.conn === conn) this.close(err.cause instanceof SmtpError ? err.cause : err);
            subscriber.error(err);
          },
        );
        return () => {
          queue.close();
          if (finished) return;
          const how = transfer.abort();
          if (this.conn !== conn) return;
          if (how === 'closed') this.close(undefined);
          else if (this.state.status === 'sending') this.transition({ status: 'connected' });
        };
      });
    });
    return sendAll$.pipe(abortable(options?.signal));
  }

  reset(): Observable<SmtpReply> {
    return this.simpleCommand('RSET');
  }

  noop(): Observable<SmtpReply> {
    return this.simpleCommand('NOOP');
  }

  quit(): Observable<SmtpReply> {
    return defer(() => {
      this.assertUsable();
      const { status } = this.state;
      const conn = this.conn;
      if (status === 'idle' || status === 'closed' || conn === undefined) return EMPTY;
      if (status !== 'connected') throw new SmtpError('EINPROGRESS', `cannot QUIT while ${status}`);
      this.transition({ status: 'quitting' });
      return quit(conn).pipe(
        finalize(() => {
          conn.destroy();
          if (this.conn === conn) this.close(undefined);
        }),
      );
    });
  }

  /** `aborted` (ECANCELED, from `SessionOptions.signal`) is what calls still waiting error with. */
  dispose(aborted?: SmtpError): void {
    if (this.disposed) return;
    this.disposed = true;
    if (aborted !== undefined) this.conn?.fail(aborted);
    this.conn?.destroy();
    if (this.state.status !== 'closed' && this.state.status !== 'idle') this.close(undefined);
    this.connWiring.unsubscribe();
    this.stateSubject.complete();
    this.replySubject.complete();
    this.transcriptSubject.complete();
  }

  /** RSET and NOOP: 250 expected; a 4xx/5xx is an error, a 421 or anything else also ends the session. */
  private simpleCommand(line: 'RSET' | 'NOOP'): Observable<SmtpReply> {
    return defer(() => {
      const conn = this.established(line);
      return conn.request({ line }).pipe(
        map((reply) => expectReply(reply, [250], line)),
        catchError((err: unknown) => {
          if (!isInSync(err) || (err as SmtpError).reply?.code === 421) {
            conn.destroy();
            if (this.conn === conn && this.state.status !== 'closed') this.close(err as SmtpError);
          }
          return throwError(() => err);
        }),
      );
    });
  }

  /** The connection, when the session is connected and idle: EPERM when not connected, EINPROGRESS when busy. */
  private established(what: string): Connection {
    this.assertUsable();
    const { status } = this.state;
    if (status === 'sending') throw new SmtpError('EINPROGRESS', `cannot ${what}: a transaction is in progress`);
    if (status !== 'connected' || this.conn === undefined || this.conn.isClosed) {
      throw new SmtpError('EPERM', `cannot ${what}: the session is not connected (state ${status})`);
    }
    return this.conn;
  }

  private assertUsable(): void {
    if (this.disposed) throw new SmtpError('EINVAL', 'the session has been disposed');
  }

  private dial(target: ServerTarget, credentials: Credentials | undefined): Observable<SessionState> {
    return new Observable<SessionState>((subscriber) => {
      const mode = this.tlsMode(target);
      const tlsOptions = { ...secureDefaults(target.host), ...this.options.tlsOptions };
      const { socket, readyEvent } = openSocket(target, mode === 'implicit' ? tlsOptions : undefined);
      const sinks = { replies: this.replySubject, transcript: this.transcriptSubject, failure: (e: SmtpError) => this.connectionFailed(conn, e) };
      const conn = new Connection(socket, readyEvent, { timeout: this.options.timeout, limits: this.options.limits, sinks });
      this.adopt(conn, target);
      let settled = false;
      const dialogue$ = concat(
        of<Transition>({ status: 'connecting' }),
        conn.ready$.pipe(ignoreElements()),
        greeting(conn),
        defer(() => {
          const ctx: DialogueContext = {
            conn,
            options: this.options,
            target,
            clientName: this.options.clientName ?? defaultClientName(conn.currentSocket.localAddress),
            capabilities: null,
          };
          this.ctx = ctx;
          return concat(ehlo(ctx), this.upgrade(ctx, mode, tlsOptions), this.login(ctx, credentials));
        }),
      );
      const run = dialogue$.subscribe({
        next: (step) => subscriber.next(this.transition(step)),
        error: (err: unknown) => {
          settled = true;
          const error = err instanceof SmtpError ? err : new SmtpError('EIO', String(err), { cause: err });
          this.closeAfterFailure(conn, error).subscribe({ complete: () => subscriber.error(error) });
        },
        complete: () => {
          settled = true;
          subscriber.next(this.transition({ status: 'connected' }));
          subscriber.complete();
        },
      });
      return () => {
        run.unsubscribe();
        if (!settled) {
          conn.destroy();
          if (this.conn === conn) this.close(undefined);
        }
      };
    });
  }

  private tlsMode(target: ServerTarget): TlsMode {
    return this.options.tls ?? (target.implicitTls ? 'implicit' : 'starttls');
  }

  /** STARTTLS when the mode asks for it and the server offers it; `starttls-required` without it is ENOTSUP. */
  private upgrade(ctx: DialogueContext, mode: TlsMode, tlsOptions: tls.ConnectionOptions): Observable<Transition> {
    return defer(() => {
      if (mode === 'implicit' || mode === 'none') return EMPTY;
      if (ctx.capabilities?.has('STARTTLS') === true) return starttls(ctx, tlsOptions);
      if (mode === 'starttls-required') {
        throw new SmtpError('ENOTSUP', "the server does not offer STARTTLS and the session's tls option is 'starttls-required'");
      }
      return EMPTY;
    });
  }

  /** AUTH when credentials were given, never in clear text unless allowInsecureAuth says so. */
  private login(ctx: DialogueContext, credentials: Credentials | undefined): Observable<Transition> {
    return defer(() => {
      if (credentials === undefined) return EMPTY;
      if (!ctx.conn.isSecure && !this.options.allowInsecureAuth) {
        throw new SmtpError(
          'ENOTSUP',
          'refusing to send credentials over an unencrypted connection: the server offered no STARTTLS ' +
            "(or the tls option is 'none'); use TLS, or set allowInsecureAuth: true to allow it",
        );
      }
      return authenticate(ctx, credentials);
    });
  }

  /** Makes `conn` the session's connection (its replies, transcript and failure feed the session through `sinks`). */
  private adopt(conn: Connection, target: ServerTarget): void {
    this.connWiring.unsubscribe();
    this.conn = conn;
    this.ctx = undefined;
    this.server = { host: target.host, port: target.port };
    this.connWiring = new Subscription();
    const keepAlive = this.options.keepAlive;
    if (keepAlive !== undefined) {
      // Each time the session settles into `connected`, a NOOP after `keepAlive` ms of it, and again.
      this.connWiring.add(
        this.state$
          .pipe(
            map((s) => s.status === 'connected'),
            distinctUntilChanged(),
            switchMap((idle) => (idle ? interval(keepAlive) : EMPTY)),
            concatMap(() => this.noop().pipe(catchError(() => EMPTY))),
          )
          .subscribe(),
      );
    }
  }

  /** The connection died. During a connect the failing command carries the error; once established, the state does. */
  private connectionFailed(conn: Connection, error: SmtpError): void {
    if (this.conn === conn && ESTABLISHED.includes(this.state.status)) this.close(error);
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

  private close(error: SmtpError | undefined): void {
    this.connWiring.unsubscribe();
    if (this.state.status === 'closed') return;
    this.transition({ status: 'closed' }, error);
  }

  private transition(step: Transition, error?: SmtpError): SessionState {
    const previous = this.state;
    const secure = step.status !== 'closed' && this.conn !== undefined && this.conn.isSecure;
    const state: SessionState = { status: step.status, secure };
    if (this.server !== undefined) state.server = this.server;
    const mechanism = step.mechanism ?? (step.status === 'closed' ? undefined : previous.mechanism);
    if (mechanism !== undefined && step.status !== 'connecting') state.mechanism = mechanism;
    if (secure) state.tls = tlsInfo(this.conn!.currentSocket as tls.TLSSocket);
    if (error !== undefined) state.error = error;
    if (!this.disposed || step.status === 'closed') this.stateSubject.next(state);
    return state;
  }
}

function tlsInfo(socket: tls.TLSSocket): TlsInfo {
  const subject = peerSubject(socket);
  const cipher = socket.getCipher()?.name ?? 'unknown';
  return { protocol: socket.getProtocol(), cipher, authorized: socket.authorized, ...(subject !== undefined && { subject }) };
}
