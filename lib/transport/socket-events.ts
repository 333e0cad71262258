import { Observable } from 'rxjs';
import { socketError } from '../errors';
import type { SmtpSocket } from './socket';

/**
 * Told of each chunk a {@link socketData$} reads, before the chunk is emitted.
 *
 * @example
 * ```ts
 * const watcher: ChunkWatcher = { chunkArrived: () => (owed = waiting.length) };
 * ```
 */
export interface ChunkWatcher {
  chunkArrived(): void;
}

/**
 * A socket's bytes as an Observable: every chunk it reads, erroring with the socket's own error
 * (as an `SmtpError` keeping its code, e.g. `ECONNRESET`). It never completes: the end of the
 * socket is {@link socketClosed$}, which a reader puts in `takeUntil`. `watcher` is told of each
 * chunk before it is emitted. One subscriber and two listeners, no more: a connection holds it for
 * as long as it lives, thousands of them idle at once.
 *
 * @example
 * ```ts
 * socketData$(socket).pipe(parseReplies(), takeUntil(socketClosed$(socket))).subscribe(console.log);
 * ```
 */
export function socketData$(socket: SmtpSocket, watcher?: ChunkWatcher): Observable<Buffer> {
  return new Observable<Buffer>((subscriber) => {
    const onData = (chunk: Buffer): void => {
      watcher?.chunkArrived();
      subscriber.next(chunk);
    };
    const onError = (err: Error): void => subscriber.error(socketError(err));
    socket.on('data', onData).on('error', onError);
    return () => void socket.off('data', onData).off('error', onError);
  });
}

/**
 * Emits once when the peer ends its side ('end') or the socket closes ('close'), whichever comes
 * first: either way no more bytes will come. Then completes.
 *
 * @example
 * ```ts
 * data$.pipe(takeUntil(socketClosed$(socket)));
 * ```
 */
export function socketClosed$(socket: SmtpSocket): Observable<void> {
  return new Observable<void>((subscriber) => {
    const onGone = (): void => {
      subscriber.next();
      subscriber.complete();
    };
    socket.on('end', onGone).on('close', onGone);
    return () => void socket.off('end', onGone).off('close', onGone);
  });
}

/**
 * Emits once when the socket emits `event` (its `connect` or `secureConnect`), then completes.
 *
 * @example
 * ```ts
 * socketEvent$(socket, 'connect').pipe(within(60_000, asyncScheduler, timedOut));
 * ```
 */
export function socketEvent$(socket: SmtpSocket, event: string): Observable<void> {
  return new Observable<void>((subscriber) => {
    const onEvent = (): void => {
      subscriber.next();
      subscriber.complete();
    };
    socket.once(event, onEvent);
    return () => void socket.off(event, onEvent);
  });
}
