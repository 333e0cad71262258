import { type Observable, EMPTY, concatMap, ignoreElements } from 'rxjs';
import { replyError } from '../errors';
import { parseCapabilities } from './capabilities';
import type { DialogueContext } from './context';
import { expectReply } from './expect';
import { announce } from './sequence';
import type { Transition } from './transition';

/** RFC 5321 4.1.4: a server that does not know EHLO answers 500 or 502; then HELO is the way in. */
const EHLO_NOT_KNOWN = [500, 502];

/**
 * Sends EHLO and records the server's extensions in `ctx.capabilities`; falls back to HELO (no
 * extensions) when the server does not know EHLO.
 *
 * @example
 * ```ts
 * ehlo(ctx).subscribe({ complete: () => console.log([...ctx.capabilities!.keys()]) });
 * ```
 */
export function ehlo(ctx: DialogueContext): Observable<Transition> {
  // RFC 2033 4.1: LMTP greets with LHLO and has no HELO to fall back to.
  const lmtp = ctx.options.lmtp;
  const command = `${lmtp ? 'LHLO' : 'EHLO'} ${ctx.clientName}`;
  return announce<Transition>(
    { status: 'ehlo' },
    ctx.conn.request({ line: command }).pipe(
      concatMap((reply) => {
        if (reply.code === 250) {
          ctx.capabilities = parseCapabilities(reply);
          return EMPTY;
        }
        if (EHLO_NOT_KNOWN.includes(reply.code) && !lmtp) return helo(ctx);
        throw replyError(reply, command);
      }),
    ),
  );
}

/** Sends HELO (RFC 5321 4.1.1.1): the session goes on without extensions. */
export function helo(ctx: DialogueContext): Observable<Transition> {
  const command = `HELO ${ctx.clientName}`;
  return announce<Transition>(
    { status: 'helo' },
    ctx.conn.request({ line: command }).pipe(
      concatMap((reply) => {
        expectReply(reply, [250], command);
        ctx.capabilities = new Map();
        return EMPTY;
      }),
      ignoreElements(),
    ),
  );
}
