import { type Observable, concat, defer, expand, map, toArray, EMPTY } from 'rxjs';
import type { SmtpReply } from '../reply/reply';
import type { TransferContext } from './context';
import { reset$ } from './settlement';
import { RCPT_OK, judgeReply } from './verdict';
import type { MailTask } from './task';

/**
 * Writes a mail's MAIL, each RCPT and, for DATA, DATA itself, and emits their replies in order as
 * one array; `written.data` tells when DATA has been written. Pipelined (RFC 2920), all leave in one write; in lock-step each waits for the reply to
 * the one before, and what would be pointless is not sent: no RCPT after a refused MAIL, no DATA
 * when no recipient was accepted (the array is then shorter).
 *
 * @example
 * ```ts
 * envelope$(ctx, task, true).subscribe((replies) => judgeEnvelope(task.envelope!, replies));
 * ```
 */
export function envelope$(ctx: TransferContext, task: MailTask, withData: boolean, written = { data: false }): Observable<SmtpReply[]> {
  return defer(() => {
    const envelope = task.envelope!;
    const lines = [envelope.mailFrom, ...envelope.rcptTo, ...(withData ? ['DATA'] : [])];
    task.stage = 'envelope';
    ctx.transactions++;
    // Behind a mail written whole and not answered yet, whose transaction may be left open: see wholeMail.
    const first$ = (ctx.window?.inFlight.mails ?? 0) > 0 ? reset$(ctx) : EMPTY;
    // Each reply is checked as it comes: one the command cannot take ends the session at once, not after the group.
    const rcpts = envelope.rcptTo.length;
    const check = (reply: SmtpReply, at: number): void => void judgeReply(reply, at === 0 ? [250] : at <= rcpts ? RCPT_OK : [354], at === 0 ? 'MAIL FROM' : at <= rcpts ? 'RCPT TO' : 'DATA');
    if (ctx.settings.pipelining !== 'off') {
      written.data = withData;
      const replies$ = ctx.conn.exchange(lines.map((line) => ({ line })), check);
      return first$ === EMPTY ? replies$ : concat(first$, replies$);
    }
    const inStep = map((reply: SmtpReply, at: number) => {
      check(reply, at);
      return reply;
    });
    let accepted = 0;
    const ask = (at: number): Observable<{ at: number; reply: SmtpReply }> =>
      defer(() => {
        written.data ||= withData && at === lines.length - 1;
        return ctx.conn.request({ line: lines[at]! });
      }).pipe(map((reply) => ({ at, reply })));
    const goOn = (at: number, reply: SmtpReply): boolean => {
      // A mail given up on writes nothing more; its transaction is reset once this reply is in.
      if (task.cancelled) return false;
      if (at === 0) return reply.code === 250;
      if (at <= envelope.rcptTo.length && reply.code >= 250 && reply.code <= 252) accepted++;
      return at + 1 < lines.length && (at < envelope.rcptTo.length || accepted > 0);
    };
    return concat(first$, ask(0)).pipe(
      expand(({ at, reply }) => (goOn(at, reply) && at + 1 < lines.length ? ask(at + 1) : EMPTY)),
      map(({ reply }) => reply),
      inStep,
      toArray(),
    );
  });
}
