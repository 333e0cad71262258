import type { Observable } from 'rxjs';
import type { Envelope } from '../mail/envelope';
import type { SendResult } from '../mail/mail';
import type { SmtpReply } from '../reply/reply';
import type { Connection } from '../transport/connection';

/**
 * How many mails may be written whole (MAIL, RCPT, `BDAT n LAST` and the content) before the
 * oldest one's replies are read. Each one in flight is a mail that becomes uncertain if the
 * connection dies, and its content sits in memory until answered; 8 already cuts the round trips
 * to about one per 8 messages, and a larger window buys little more on loopback or a LAN.
 *
 * @example
 * if (inFlight.length >= MAX_MAILS_IN_FLIGHT) await settleOldest();
 */
export const MAX_MAILS_IN_FLIGHT = 8;

/**
 * A mail whose end of data is written and whose final reply (or replies, under LMTP) is awaited.
 *
 * @example
 * const owed: Owed = { envelope, accepted, rejected, bytes, replies: eod, settled: false };
 */
export interface Owed {
  envelope: Envelope;
  accepted: string[];
  rejected: SendResult['rejected'];
  bytes: number;
  replies: Observable<SmtpReply>[];
  /** Its outcome has been emitted. */
  settled: boolean;
}

/**
 * A mail written whole under CHUNKING and PIPELINING before any of its replies came: `replies` are
 * those of MAIL, each RCPT and `BDAT n LAST`, in order. What was owed before it (a mail sent the
 * usual way, an RSET) is kept with it, since its replies come first.
 *
 * @example
 * const item: InFlight = writeWhole(conn, envelope, true, { owed: undefined, reset: undefined });
 */
export interface InFlight extends Owed {
  before: Owed | undefined;
  reset: Observable<SmtpReply> | undefined;
}

/**
 * Writes a whole transaction with an in-memory body in one batch. `rset` puts an RSET ahead of it:
 * the mail before it is still unanswered and, if its envelope failed, the server's state after the
 * refused `BDAT LAST` is its own choice (RFC 3030 asks for an RSET); without it, this MAIL could be
 * refused as nested and its RCPT join the failed transaction.
 *
 * @example
 * inFlight.push(writeWhole(conn, envelope, inFlight.length > 0, { owed, reset }));
 */
export function writeWhole(
  conn: Connection,
  envelope: Envelope & { body: { kind: 'memory' } },
  rset: boolean,
  before: { owed: Owed | undefined; reset: Observable<SmtpReply> | undefined },
): InFlight {
  const data = envelope.body.data;
  // Held, so that the mails written before the next reply is awaited leave in one segment.
  conn.hold();
  const replies = conn.writeBatch([
    ...(rset ? [{ line: 'RSET' }] : []),
    { line: envelope.mailFrom },
    ...envelope.rcptTo.map((line) => ({ line })),
    { line: `BDAT ${data.length} LAST` },
    { raw: data },
  ]);
  const reset = rset ? replies.shift() : before.reset;
  return { envelope, accepted: [], rejected: [], bytes: envelope.body.contentBytes, replies, settled: false, before: before.owed, reset };
}

/**
 * The mails of the window and what each owed before it, in order, whose outcome is not known.
 *
 * @example
 * new SendAllError(error, { delivered, uncertain: unanswered(inFlight), notSent });
 */
export function unanswered(inFlight: readonly InFlight[]): Envelope['mail'][] {
  return inFlight.flatMap((item) => [
    ...(item.before !== undefined && !item.before.settled ? [item.before.envelope.mail] : []),
    ...(item.settled ? [] : [item.envelope.mail]),
  ]);
}

/**
 * Whether a reply (an AsyncSubject's) has come already: it then emits during subscribe.
 *
 * @example
 * if (!arrived(item.replies[item.replies.length - 1]!)) conn.release();
 */
export function arrived(reply: Observable<SmtpReply>): boolean {
  let done = false;
  reply.subscribe({ complete: () => (done = true), error: () => (done = true) }).unsubscribe();
  return done;
}

/**
 * Waits while the socket's buffer is full (a window of large mails), letting the held bytes go.
 *
 * @example
 * await untilWritable(conn);
 */
export async function untilWritable(conn: Connection): Promise<void> {
  if (!conn.congested) return;
  conn.release();
  await conn.writable();
}
