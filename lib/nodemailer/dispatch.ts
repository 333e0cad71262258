import {
  EMPTY,
  type Observable,
  type ObservableInput,
  Subscription,
  catchError,
  concat,
  concatMap,
  defer,
  finalize,
  from,
  ignoreElements,
  map,
  of,
  share,
  switchMap,
  tap,
  throwError,
  timer,
} from 'rxjs';
import type { ServerAddress } from '../address';
import type { SessionStatus } from '../dialogue/transition';
import { SmtpError } from '../errors';
import type { Mail, SendOutcome, SendResult } from '../mail/mail';
import type { TlsMode } from '../options';
import type { SmtpPool } from '../pool';
import type { SmtpSession } from '../session';
import { type ConnectDeadlines, withDeadlines } from './deadlines';
import { type RxSmtpTransportError, nodemailerError } from './errors';

/**
 * Anything that sends mails: an {@link SmtpSession} (connected by its owner), an rx-smtp pool, or
 * your own wrapper. With `sendAll` the transport hands it every mail waiting at that moment in one
 * call, so a session pipelines them; with `send` alone it sends one mail after another.
 *
 * @example
 * ```ts
 * const sender: MailSender = session; // or createPool({ server: 'smtp://mail.example.com:587' })
 * ```
 */
export interface MailSender {
  /** Sends one mail: emits its result and completes, or errors with an `SmtpError`. */
  send(mail: Mail): Observable<SendResult>;
  /** Sends many: one outcome per mail, each carrying its mail, in any order. */
  sendAll?(mails: ObservableInput<Mail>): Observable<SendOutcome>;
}

/** How the transport reaches the server: sends batches, checks the connection, shuts down. */
export interface Dispatcher {
  /** One outcome per mail; may error (a `SendAllError` accounts for the mails without an outcome). */
  sendAll(mails: Mail[]): Observable<SendOutcome>;
  /** Completes when the server is reachable (and the login accepted); errors with an {@link RxSmtpTransportError}. */
  verify(): Observable<never>;
  /** Nothing to send for now. */
  idle(): void;
  /** Completes once every connection the dispatcher opened is closed. */
  close(): Observable<never>;
  /** The server's EHLO extensions as nodemailer lists them, when this dispatcher knows them. */
  ehlo(): string[] | undefined;
}

/** A sender the caller owns: the transport uses it and never closes it. */
export function senderDispatcher(sender: MailSender): Dispatcher {
  return {
    sendAll: (mails) =>
      sender.sendAll !== undefined
        ? sender.sendAll(mails)
        : // One at a time, each outcome in its place.
          from(mails).pipe(
            concatMap((mail, index) =>
              sender.send(mail).pipe(
                map((result) => succeeded(index, mail, result)),
                catchError((error: SmtpError) => of(failed(index, mail, error))),
              ),
            ),
          ),
    verify: () => EMPTY,
    idle: () => {},
    close: () => EMPTY,
    // A session passed as the sender knows its server's extensions; a pool or a wrapper does not.
    ehlo: () => ehloLines((sender as Partial<SmtpSession>).capabilities),
  };
}

/** An rx-smtp pool the transport owns (nodemailer's `pool: true`); `verify` checks with a connection of its own. */
export function poolDispatcher(pool: SmtpPool, verify: () => Observable<never>): Dispatcher {
  return {
    sendAll: (mails) => pool.sendAll(mails),
    verify,
    idle: () => {}, // the pool closes its idle connections itself
    close: () => pool.close().pipe(ignoreElements()),
    ehlo: () => undefined,
  };
}

/** Where and as whom the transport's own session connects, and within which deadlines. */
export interface SessionTarget {
  server: ServerAddress;
  username: string | undefined;
  password: string | undefined;
  idleTimeoutMs: number;
  deadlines: ConnectDeadlines;
  /** The session's TLS mode, to tell a refused STARTTLS from a refused login. */
  tls: TlsMode | undefined;
}

/**
 * A session the transport owns: connected when there is mail, reconnected after the server drops
 * it, QUIT after `idleTimeoutMs` without mail so that an idle process can exit.
 */
export function sessionDispatcher(session: SmtpSession, target: SessionTarget): Dispatcher {
  let idleQuit = new Subscription();
  // verify() and a first message at once share one connect (a second would fail with EINPROGRESS).
  let connecting$: Observable<never> | undefined;
  const connected$ = defer(() => {
    // A QUIT for idleness that is still running is cut short: its finalize closes the
    // connection at once, and a fresh one is dialled.
    idleQuit.unsubscribe();
    const { status } = session.state;
    if (status === 'connected' || status === 'sending') return EMPTY;
    connecting$ ??= connectMapped$(session, target).pipe(
      finalize(() => (connecting$ = undefined)),
      share(),
    );
    return connecting$;
  });
  const quit$ = defer(() => (session.state.status === 'connected' ? session.quit() : EMPTY)).pipe(
    ignoreElements(),
    catchError(() => EMPTY),
  );
  return {
    sendAll: (mails) => concat(connected$, defer(() => session.sendAll(mails))),
    verify: () => connected$,
    idle: () => {
      idleQuit.unsubscribe();
      idleQuit = timer(target.idleTimeoutMs)
        .pipe(switchMap(() => quit$))
        .subscribe();
    },
    close: () =>
      defer(() => {
        idleQuit.unsubscribe();
        return quit$;
      }).pipe(finalize(() => session.dispose())),
    ehlo: () => ehloLines(session.capabilities),
  };
}

/**
 * Connects `session` within nodemailer's deadlines; a failure becomes the error nodemailer would
 * give, told apart by how far the connect got (the login, or what came before it).
 *
 * @example
 * ```ts
 * connectMapped$(session, target).subscribe({ error: (err: RxSmtpTransportError) => console.log(err.code) });
 * ```
 */
export function connectMapped$(session: SmtpSession, target: Omit<SessionTarget, 'idleTimeoutMs'>): Observable<never> {
  return defer(() => {
    const seen = new Set<SessionStatus>();
    return session.connect(target.server, target.username, target.password).pipe(
      withDeadlines(session.state$, target.deadlines),
      tap((state) => seen.add(state.status)),
      ignoreElements(),
      catchError((err: unknown) => {
        const error = asSmtpError(err);
        // ENOTSUP before AUTH: the login could not even be tried, unless it was STARTTLS that was required and missing.
        const tlsMissing = target.tls === 'starttls-required' && !seen.has('starttls');
        const auth = seen.has('authenticating') || (error.code === 'ENOTSUP' && !tlsMissing);
        return throwError(() => nodemailerError(error, auth ? 'auth' : 'connect'));
      }),
    );
  });
}

/** nodemailer's `info.ehlo`: one line per extension, keyword and parameters; none after HELO. */
function ehloLines(capabilities: ReadonlyMap<string, string> | null | undefined): string[] | undefined {
  if (capabilities === null || capabilities === undefined || capabilities.size === 0) return undefined;
  return [...capabilities].map(([keyword, params]) => (params === '' ? keyword : `${keyword} ${params}`));
}

// The one place this module builds outcomes: their shape is the session's and may change with it.
function succeeded(index: number, mail: Mail, result: SendResult): SendOutcome {
  return { ok: true, index, mail, result };
}

function failed(index: number, mail: Mail, error: SmtpError): SendOutcome {
  return { ok: false, index, mail, error };
}

function asSmtpError(err: unknown): SmtpError {
  return err instanceof SmtpError ? err : new SmtpError('EIO', err instanceof Error ? err.message : String(err), { cause: err });
}
