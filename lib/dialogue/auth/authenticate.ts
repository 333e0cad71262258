import { type Observable, EMPTY, catchError, concatMap, defer, ignoreElements, of, throwError } from 'rxjs';
import { SmtpError, replyError } from '../../errors';
import type { SmtpReply } from '../../reply/reply';
import { sanitize } from '../../reply/sanitize';
import type { Connection } from '../../transport/connection';
import { REDACTED } from '../../transport/transcript';
import type { DialogueContext } from '../context';
import { announce } from '../sequence';
import type { Transition } from '../transition';
import type { Credentials, SaslClient, SaslMechanism } from './mechanism';
import { DEFAULT_PREFERENCE, chooseMechanism } from './mechanisms';

/**
 * 334 challenges answered in one AUTH exchange; the longest real one (SCRAM) needs two. More is
 * `ESERVERSYNC`, and the connection is closed.
 *
 * @example
 * ```ts
 * import { MAX_AUTH_ROUNDS } from 'rx-smtp'; // 8
 * ```
 */
export const MAX_AUTH_ROUNDS = 8;

// RFC 4648 base64, as RFC 4954 4 requires for challenges; anything else is cancelled with "*".
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Picks the strongest mechanism that both sides support and that the caller allows, or fails with
 * `ENOTSUP` when there is none.
 */
export function selectMechanism(ctx: DialogueContext): SaslMechanism {
  const advertised = (ctx.capabilities?.get('AUTH') ?? '').split(/\s+/).filter(Boolean);
  const preference = ctx.options.authMechanisms ?? DEFAULT_PREFERENCE;
  const mechanism = chooseMechanism(advertised, preference);
  if (mechanism === undefined) {
    // The server's own words: disarmed and cut short like any server text in a message.
    const offered = advertised.length === 0 ? 'no AUTH mechanism' : `AUTH ${sanitize(advertised.join(' '), 80)}`;
    throw new SmtpError('ENOTSUP', `credentials were given but the server offers ${offered}; the client accepts ${preference.join(', ')}`);
  }
  return mechanism;
}

/**
 * Runs one AUTH exchange (RFC 4954): the command with its initial response, every 334 challenge
 * answered by the mechanism, 235 at the end. A challenge the mechanism refuses is cancelled with
 * `*` and the session fails with the mechanism's error (`EPROTO`). Every payload is redacted.
 *
 * @example
 * ```ts
 * authenticate(ctx, { username: 'alice', password: 's3cret' }).subscribe((t) => console.log(t));
 * ```
 */
export function authenticate(ctx: DialogueContext, credentials: Credentials): Observable<Transition> {
  return defer(() => {
    const mechanism = selectMechanism(ctx);
    const client = mechanism.create(credentials);
    const initial = client.initialResponse();
    const name = mechanism.name;
    const line = initial === null ? `AUTH ${name}` : `AUTH ${name} ${initial.length === 0 ? '=' : initial.toString('base64')}`;
    const redacted = initial === null ? line : `AUTH ${name} ${REDACTED}`;
    return announce<Transition>(
      { status: 'authenticating', mechanism: name },
      ctx.conn
        .request({ line, redacted, redactReply: true })
        .pipe(concatMap((reply) => answer(ctx.conn, client, `AUTH ${name}`, reply, 1)), ignoreElements()),
    );
  });
}

function answer(conn: Connection, client: SaslClient, command: string, reply: SmtpReply, round: number): Observable<never> {
  if (reply.code === 235) {
    client.complete();
    return EMPTY;
  }
  if (reply.code !== 334) throw replyError(reply, command);
  if (round > MAX_AUTH_ROUNDS) {
    throw new SmtpError('ESERVERSYNC', `more than ${MAX_AUTH_ROUNDS} AUTH challenges`, { reply, command });
  }
  let response: Buffer;
  try {
    response = client.respond(decodeChallenge(reply, command));
  } catch (err) {
    return cancel(conn, err);
  }
  return conn
    .request({ line: response.toString('base64'), redacted: REDACTED, redactReply: true })
    .pipe(concatMap((next) => answer(conn, client, command, next, round + 1)));
}

function decodeChallenge(reply: SmtpReply, command: string): Buffer {
  const text = (reply.lines[0] ?? '').trim();
  if (reply.lines.length > 1 || !BASE64.test(text)) {
    throw new SmtpError('EPROTO', 'the server sent an AUTH challenge that is not base64', { reply, command });
  }
  return Buffer.from(text, 'base64');
}

/**
 * RFC 4954 4: "*" cancels the exchange; the server answers 501, and the session ends with `error`.
 * A server that hangs up (or fails) instead of answering does not hide why the exchange ended.
 */
function cancel(conn: Connection, error: unknown): Observable<never> {
  return conn.request({ line: '*' }).pipe(
    catchError(() => of(undefined)),
    concatMap(() => throwError(() => error)),
  );
}
