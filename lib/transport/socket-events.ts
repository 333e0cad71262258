import { type Observable, fromEvent, map, merge, take } from 'rxjs';
import { socketError } from '../errors';
import type { SmtpSocket } from './socket';

/**
 * A socket's bytes as an Observable: every chunk it reads, erroring with the socket's own error
 * (as an `SmtpError` keeping its code, e.g. `ECONNRESET`). It never completes: the end of the
 * socket is {@link socketClosed$}, which a reader puts in `takeUntil`.
 *
 * @example
 * ```ts
 * socketData$(socket).pipe(parseReplies(), takeUntil(socketClosed$(socket))).subscribe(console.log);
 * ```
 */
export function socketData$(socket: SmtpSocket): Observable<Buffer> {
  const error$ = fromEvent(socket, 'error', (err: Error) => err).pipe(
    map((err): never => {
      throw socketError(err);
    }),
  );
  return merge(fromEvent(socket, 'data', (chunk: Buffer) => chunk), error$);
}

/**
 * Emits once when the peer ends its side ('end') or the socket closes ('close'), whichever comes
 * first: either way no more bytes will come.
 *
 * @example
 * ```ts
 * data$.pipe(takeUntil(socketClosed$(socket)));
 * ```
 */
export function socketClosed$(socket: SmtpSocket): Observable<unknown> {
  return merge(fromEvent(socket, 'end'), fromEvent(socket, 'close')).pipe(take(1));
}
