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
  first,
  from,
  ignoreElements,
  map,
  of,
  switchMap,
  timer,
} from 'rxjs';
import type { ServerAddress } from '../address';
import { SmtpError } from '../errors';
import type { Mail, SendOutcome, SendResult } from '../mail/mail';
import type { SmtpSession } from '../session';

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
  /** Completes when the server is reachable (and the login accepted). */
  verify(): Observable<never>;
  /** Nothing to send for now. */
  idle(): void;
  /** Completes once every connection the dispatcher opened is closed. */
  close(): Observable<never>;
}

/** A sender the caller owns: the transport uses it and never closes it. */
export function senderDispatcher(sender: MailSender): Dispatcher {
  return {
    sendAll: (mails) =>
      sender.sendAll !== undefined
        ? sender.sendAll(mails)
        : // One at a time: a session runs one transaction at a time and answers EINPROGRESS otherwise.
          from(mails).pipe(
            concatMap((mail, index) =>
              sender.send(mail).pipe(
                map((result): SendOutcome => ({ ok: true, index, mail, result })),
                catchError((error: SmtpError) => of<SendOutcome>({ ok: false, index, mail, error })),
              ),
            ),
          ),
    verify: () => EMPTY,
    idle: () => {},
    close: () => EMPTY,
  };
}

/** Where and as whom the transport's own session connects. */
export interface SessionTarget {
  server: ServerAddress;
  username: string | undefined;
  password: string | undefined;
  idleTimeoutMs: number;
}

/**
 * A session the transport owns: connected when there is mail, reconnected after the server drops
 * it, QUIT after `idleTimeoutMs` without mail so that an idle process can exit.
 */
export function sessionDispatcher(session: SmtpSession, target: SessionTarget): Dispatcher {
  let idleQuit = new Subscription();
  const connected$ = defer(() => {
    // A QUIT for idleness that is still running is cut short: its finalize closes the
    // connection at once, and a fresh one is dialled.
    idleQuit.unsubscribe();
    const { status } = session.state;
    if (status === 'connected' || status === 'sending') return EMPTY;
    if (status === 'idle' || status === 'closed' || status === 'quitting') {
      return session.connect(target.server, target.username, target.password).pipe(ignoreElements());
    }
    // A connect is running (verify() and a first message at once): it decides for both, as a
    // second connect would fail with EINPROGRESS.
    return session.state$.pipe(
      first((s) => s.status === 'connected' || s.status === 'closed'),
      map((s) => {
        if (s.status === 'closed') throw s.error ?? new SmtpError('ESHUTDOWN', 'the connection closed while connecting');
      }),
      ignoreElements(),
    );
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
  };
}
