import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import { SmtpError } from './errors';
import type { SmtpSession } from './session';

/** Per-call options of the operations that take a signal. */
export interface CallOptions {
  /** Aborting it cancels the call, as unsubscribing would, and the call errors with `ECANCELED`. */
  signal?: AbortSignal;
}

/**
 * Ties an Observable to an `AbortSignal`: when the signal aborts, the source is unsubscribed (which
 * is how every rx-smtp operation cancels safely) and the result errors with `ECANCELED`, the
 * signal's reason as its cause. The listener is removed when the result ends, either way.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * session.send(mail).pipe(abortable(controller.signal)).subscribe({ error: (e) => console.log(e.code) });
 * controller.abort(); // ECANCELED
 * ```
 */
export function abortable<T>(signal: AbortSignal | undefined): MonoTypeOperatorFunction<T> {
  if (signal === undefined) return (source) => source;
  return (source) =>
    new Observable<T>((subscriber) => {
      if (signal.aborted) {
        subscriber.error(abortError(signal));
        return undefined;
      }
      const onAbort = (): void => subscriber.error(abortError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      const subscription = source.subscribe(subscriber);
      return () => {
        signal.removeEventListener('abort', onAbort);
        subscription.unsubscribe();
      };
    });
}

/** The error of an aborted call; the signal's reason is its cause. */
export function abortError(signal: AbortSignal): SmtpError {
  return new SmtpError('ECANCELED', 'the operation was aborted', { cause: signal.reason });
}

/**
 * `SessionOptions.signal`: aborting it disposes the session, and calls still waiting (a connect, a
 * send) error with `ECANCELED`. The listener goes when the session is disposed (its `state$`
 * completes), by the signal or otherwise.
 *
 * @example
 * ```ts
 * const session = disposeOnAbort(new Session(options), options.signal);
 * ```
 */
export function disposeOnAbort<T extends SmtpSession & { dispose(aborted?: SmtpError): void }>(session: T, signal: AbortSignal | undefined): T {
  if (signal === undefined) return session;
  if (signal.aborted) {
    session.dispose();
    return session;
  }
  const onAbort = (): void => session.dispose(abortError(signal));
  signal.addEventListener('abort', onAbort, { once: true });
  session.state$.subscribe({ complete: () => signal.removeEventListener('abort', onAbort) });
  return session;
}
