import { type MonoTypeOperatorFunction, Observable, fromEvent, share, take } from 'rxjs';
import { SmtpError } from './errors';

/**
 * The error of an aborted call; the signal's reason is its cause.
 *
 * @example
 * ```ts
 * subscriber.error(abortError(signal)); // ECANCELED
 * ```
 */
export function abortError(signal: AbortSignal): SmtpError {
  return new SmtpError('ECANCELED', 'the operation was aborted', { cause: signal.reason });
}

/** One shared 'abort' listener per signal, however many calls watch it. */
const watched = new WeakMap<AbortSignal, Observable<void>>();

/**
 * Emits once (at once if it already has) when the signal aborts, then completes. Every subscriber
 * shares one listener on the signal, so fifty calls under one signal add one listener, not fifty
 * (and no `MaxListenersExceededWarning`); it is removed when the last subscriber leaves.
 *
 * @example
 * ```ts
 * aborted$(signal).subscribe(() => ledger.abort(abortError(signal)));
 * ```
 */
export function aborted$(signal: AbortSignal): Observable<void> {
  if (signal.aborted) return new Observable<void>((subscriber) => (subscriber.next(), subscriber.complete()));
  let shared = watched.get(signal);
  if (shared === undefined) {
    shared = new Observable<void>((subscriber) =>
      fromEvent(signal, 'abort')
        .pipe(take(1))
        .subscribe(() => {
          subscriber.next();
          subscriber.complete();
        }),
    ).pipe(share());
    watched.set(signal, shared);
  }
  return shared;
}

/**
 * Ties an Observable to an `AbortSignal`: when the signal aborts, the source is unsubscribed (which
 * is how every rx-smtp operation cancels safely) and the result errors with `ECANCELED`, the
 * signal's reason as its cause. The listener goes when the result ends, either way.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * session.noop().pipe(abortable(controller.signal)).subscribe({ error: (e) => console.log(e.code) });
 * controller.abort(); // ECANCELED
 * ```
 */
export function abortable<T>(signal: AbortSignal | undefined): MonoTypeOperatorFunction<T> {
  if (signal === undefined) return (source) => source;
  return (source) =>
    new Observable<T>((subscriber) => {
      const abort = aborted$(signal).subscribe(() => subscriber.error(abortError(signal)));
      if (!subscriber.closed) abort.add(source.subscribe(subscriber));
      return abort;
    });
}
