import { type Observable, ignoreElements, map } from 'rxjs';
import type { Connection } from '../transport/connection';
import { expectReply } from './expect';
import { announce } from './sequence';
import type { Transition } from './transition';

/** RFC 5321 4.2: the greeting is 220; 554 refuses service, 421 is a temporary refusal. */
const GREETING_OK = [220] as const;

/**
 * Waits for the server's greeting (RFC 5321 4.3.1).
 *
 * @example
 * ```ts
 * greeting(conn).subscribe((t) => console.log(t.status)); // 'greeting', then completes on 220
 * ```
 */
export function greeting(conn: Connection): Observable<Transition> {
  return announce<Transition>(
    { status: 'greeting' },
    conn.read().pipe(
      map((reply) => expectReply(reply, GREETING_OK, undefined)),
      ignoreElements(),
    ),
  );
}
