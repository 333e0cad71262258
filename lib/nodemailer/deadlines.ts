import { EMPTY, Observable, type OperatorFunction, distinctUntilChanged, filter, map, merge, switchMap, takeUntil, throwError, timer } from 'rxjs';
import type { SessionState, SessionStatus } from '../dialogue/transition';
import { SmtpError } from '../errors';

/** nodemailer's deadlines for setting a connection up, in milliseconds; either may be absent. */
export interface ConnectDeadlines {
  /** From the start of the connect until the session is set up (before AUTH): DNS, TCP, greeting, EHLO, STARTTLS. */
  connectionTimeout?: number;
  /** From the TCP connection until the server's greeting. */
  greetingTimeout?: number;
}

/** Which of nodemailer's deadlines an `ETIMEDOUT` of this module stands for. */
type TimeoutType = 'CONNECT_TIMEOUT' | 'GREETING_TIMEOUT';

// The errors this module made, and which deadline each was: an SmtpError is complete when created,
// so what nodemailer calls `timeoutType` is kept beside it rather than added to it.
const timeoutTypes = new WeakMap<SmtpError, TimeoutType>();

/**
 * `CONNECT_TIMEOUT` or `GREETING_TIMEOUT` for an error of {@link withDeadlines}; undefined for any
 * other error (a session's own `timeout`, which nodemailer would call `SOCKET_TIMEOUT`).
 *
 * @example
 * ```ts
 * timeoutTypeOf(error) ?? 'SOCKET_TIMEOUT';
 * ```
 */
export function timeoutTypeOf(error: SmtpError): TimeoutType | undefined {
  return timeoutTypes.get(error);
}

/** States past the setup that `connectionTimeout` covers (nodemailer's ends before AUTH); a failure ends the connect itself. */
const SET_UP: readonly SessionStatus[] = ['authenticating', 'connected'];

/**
 * Bounds a session's `connect()` by nodemailer's `connectionTimeout` and `greetingTimeout`, on
 * top of the session's own `timeout` for each reply: when one passes, the connect is
 * unsubscribed (which closes the socket) and the result errors with `ETIMEDOUT`. `state$` is the
 * session's, which tells when the greeting phase starts and when the setup is over.
 *
 * @example
 * ```ts
 * session.connect(server).pipe(withDeadlines(session.state$, { greetingTimeout: 30_000 }));
 * ```
 */
export function withDeadlines<T>(state$: Observable<SessionState>, deadlines: ConnectDeadlines): OperatorFunction<T, T> {
  const { connectionTimeout, greetingTimeout } = deadlines;
  if (connectionTimeout === undefined && greetingTimeout === undefined) return (source$) => source$;
  const status$ = state$.pipe(
    map((s) => s.status),
    distinctUntilChanged(),
  );
  const connectionDeadline$ =
    connectionTimeout === undefined
      ? EMPTY
      : timer(connectionTimeout).pipe(
          takeUntil(status$.pipe(filter((status) => SET_UP.includes(status)))),
          switchMap(() => expired('CONNECT_TIMEOUT', `the connection was not set up within ${connectionTimeout} ms (connectionTimeout)`)),
        );
  const greetingDeadline$ =
    greetingTimeout === undefined
      ? EMPTY
      : status$.pipe(
          // Each status change restarts the wait: it only runs while the greeting is awaited.
          switchMap((status) => (status === 'greeting' ? timer(greetingTimeout) : EMPTY)),
          switchMap(() => expired('GREETING_TIMEOUT', `no greeting within ${greetingTimeout} ms (greetingTimeout)`)),
        );
  const deadline$ = merge(connectionDeadline$, greetingDeadline$);
  // The deadlines live exactly as long as the connect: its end or its unsubscription ends them.
  return (source$) =>
    new Observable<T>((subscriber) => {
      const subscription = deadline$.subscribe({ error: (err: unknown) => subscriber.error(err) });
      subscription.add(source$.subscribe(subscriber));
      return subscription;
    });
}

function expired(type: TimeoutType, message: string): Observable<never> {
  const error = new SmtpError('ETIMEDOUT', message);
  timeoutTypes.set(error, type);
  return throwError(() => error);
}
