import { type Observable, catchError, map, throwError } from 'rxjs';
import { SmtpError } from '../errors';
import type { SmtpReply } from '../reply/reply';
import type { Connection } from '../transport/connection';
import { expectReply } from './expect';

/**
 * Sends QUIT and waits for 221 (RFC 5321 4.1.1.10); a server that just closes is as good. The caller
 * destroys the connection afterwards.
 *
 * @example
 * ```ts
 * quit(conn).pipe(finalize(() => conn.destroy())).subscribe();
 * ```
 */
export function quit(conn: Connection): Observable<SmtpReply> {
  return conn.request({ line: 'QUIT' }).pipe(
    map((reply) => expectReply(reply, [221], 'QUIT')),
    catchError((err: unknown) => (err instanceof SmtpError && err.code === 'ESHUTDOWN' ? [] : throwError(() => err))),
  );
}
