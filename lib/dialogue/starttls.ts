import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { type Observable, concatMap, defer, ignoreElements } from 'rxjs';
import type { DialogueContext } from './context';
import { ehlo } from './ehlo';
import { expectReply } from './expect';
import { announce, sequence } from './sequence';
import type { Transition } from './transition';

/**
 * Upgrades the connection with STARTTLS (RFC 3207): `STARTTLS`, 220, the TLS handshake on the same
 * socket, then EHLO again with every capability learned before it forgotten (RFC 3207 4.2). A byte
 * after the 220 is refused as response injection (`ESERVERSYNC`); a 4xx/5xx is an error, never a
 * silent fallback to plain text.
 *
 * @example
 * ```ts
 * starttls(ctx, { ca }).subscribe((t) => console.log(t.status)); // 'starttls', 'ehlo'
 * ```
 */
export function starttls(ctx: DialogueContext, tlsOptions: TlsConnectionOptions): Observable<Transition> {
  return announce<Transition>(
    { status: 'starttls' },
    sequence(
      ctx.conn.request({ line: 'STARTTLS', last: true }).pipe(
        concatMap((reply) => {
          expectReply(reply, [220], 'STARTTLS');
          return ctx.conn.upgrade(tlsOptions);
        }),
        ignoreElements(),
      ),
      defer(() => {
        ctx.capabilities = null;
        return ehlo(ctx);
      }),
    ),
  );
}
