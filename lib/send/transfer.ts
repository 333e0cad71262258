import { type Observable, lastValueFrom } from 'rxjs';
import { BodyEncoder } from '../body/encoder';
import { SendAllError, SmtpError, replyError } from '../errors';
import { type Envelope, type TransferMode, prepareEnvelope } from '../mail/envelope';
import type { Mail, SendOutcome, SendResult } from '../mail/mail';
import { type SmtpReply, replyClass } from '../reply/reply';
import type { Connection } from '../transport/connection';
import type { MailQueue } from './mail-queue';
import { queueIdOf } from './queue-id';

/** How the transfer talks to this server. */
export interface TransferSettings extends TransferMode {
  /** RFC 2920: MAIL, RCPT and DATA in one write, and the next mail behind the end of data. */
  pipelining: boolean;
  /** RFC 2033: one reply per accepted recipient after the end of data. */
  lmtp: boolean;
}

/** A mail whose end of data is written and whose final reply (or replies, under LMTP) is awaited. */
interface Owed {
  envelope: Envelope;
  accepted: string[];
  rejected: SendResult['rejected'];
  bytes: number;
  replies: Observable<SmtpReply>[];
  /** Its outcome has been emitted. */
  settled: boolean;
}

/** A per-mail failure: the mail gets an `ok: false` outcome and the transfer goes on. */
class MailFailure {
  constructor(readonly error: SmtpError) {}
}

/** What an abort must do: RSET is safe outside DATA; inside it only closing the connection is. */
type Phase = 'idle' | 'envelope' | 'data';

/**
 * Sends mails over one connection, one transaction at a time but pipelined (RFC 2920) when the
 * server allows: MAIL, every RCPT and DATA leave in one write, and the next mail's commands leave
 * in the same write as the previous end of data, so that a steady stream costs one round trip per
 * message. Replies are matched in order by the connection. Every mail ends as exactly one outcome
 * or, when the session itself fails, in one of the lists of the {@link SendAllError}.
 */
export class Transfer {
  private readonly delivered: SendResult[] = [];
  private phase: Phase = 'idle';
  private aborted = false;
  /** Frees the streamed body being read, if any (unsubscribe, destroy). */
  private releaseBody: (() => void) | undefined;

  constructor(
    private readonly conn: Connection,
    private readonly settings: TransferSettings,
  ) {}

  /** Stops after the current step: RSET where the protocol allows it, otherwise the connection is closed. */
  abort(): 'reset' | 'closed' {
    this.aborted = true;
    this.releaseBody?.();
    this.conn.release();
    if (this.phase === 'data') {
      this.conn.destroy();
      return 'closed';
    }
    if (this.phase === 'envelope') this.conn.write([{ line: 'RSET' }]);
    return 'reset';
  }

  /** Runs until the queue is empty; per-mail outcomes go to `emit`; a session failure throws a {@link SendAllError}. */
  async run(queue: MailQueue, emit: (outcome: SendOutcome) => void): Promise<void> {
    let owed: Owed | undefined;
    let reset: Observable<SmtpReply> | undefined;
    let current: Mail | undefined;
    try {
      for (;;) {
        current = queue.poll();
        if (current === undefined) {
          this.conn.release();
          // Nothing here to pipeline behind the owed end of data: its outcome is due when its reply
          // comes, not when the next mail does (an input may wait for that outcome to give more).
          owed = await this.settle(owed, emit);
          reset = await this.expectReset(reset);
          current = await queue.take().catch(async (err: unknown) => {
            // The input failed: the mail already sent is still owed its reply; settle it, or it would be reported uncertain.
            owed = await this.settle(owed, emit);
            reset = await this.expectReset(reset);
            throw err;
          });
        }
        if (this.aborted) return;
        if (current === undefined) break;
        let envelope: Envelope;
        try {
          envelope = prepareEnvelope(current, this.settings);
        } catch (err) {
          this.conn.release();
          owed = await this.settle(owed, emit);
          reset = await this.expectReset(reset);
          emit({ ok: false, mail: current, error: asSmtpError(err) });
          continue;
        }
        const step = await this.transaction(envelope, owed, reset, emit);
        owed = step.owed;
        reset = step.reset;
        current = undefined;
        if (this.aborted) return;
      }
      this.conn.release();
      owed = await this.settle(owed, emit);
      await this.expectReset(reset);
    } catch (err) {
      this.conn.release();
      if (this.aborted) return;
      const error = asSmtpError(err);
      const pending = queue.close();
      throw new SendAllError(error, {
        delivered: [...this.delivered],
        uncertain: owed === undefined || owed.settled ? [] : [owed.envelope.mail],
        notSent: [...(current === undefined || current === owed?.envelope.mail ? [] : [current]), ...pending],
      });
    } finally {
      this.phase = 'idle';
    }
  }

  /**
   * One transaction. Its commands follow whatever the previous mail left owed (end of data, RSET)
   * in the same write; that is settled first, since its replies come first.
   */
  private async transaction(
    envelope: Envelope,
    owedBefore: Owed | undefined,
    resetBefore: Observable<SmtpReply> | undefined,
    emit: (outcome: SendOutcome) => void,
  ): Promise<{ owed: Owed | undefined; reset: Observable<SmtpReply> | undefined }> {
    const { pipelining, chunking } = this.settings;
    const lines = [envelope.mailFrom, ...envelope.rcptTo, ...(chunking ? [] : ['DATA'])];
    // Once DATA is written only closing aborts safely (an RSET could be read as content); pipelined, it is written now.
    this.phase = chunking || !pipelining ? 'envelope' : 'data';
    let replies: Observable<SmtpReply>[];
    if (pipelining) {
      replies = this.conn.write(lines.map((line) => ({ line })));
      this.conn.release();
      await this.settle(owedBefore, emit);
      await this.expectReset(resetBefore);
    } else {
      this.conn.release();
      await this.settle(owedBefore, emit);
      await this.expectReset(resetBefore);
      replies = [];
    }
    const reply = async (i: number): Promise<SmtpReply> => {
      // Once aborted, the session may already carry the caller's next command: write nothing more of this mail.
      if (this.aborted) throw new SmtpError('ECANCELED', 'the transaction was aborted');
      if (!pipelining && !chunking && i === lines.length - 1) this.phase = 'data';
      return reply$(pipelining ? replies[i]! : this.conn.write([{ line: lines[i]! }])[0]!);
    };

    // MAIL FROM
    const mailReply = await reply(0);
    let failure: MailFailure | undefined = classify(mailReply, [250], 'MAIL FROM');
    if (failure !== undefined && !pipelining) {
      this.phase = 'idle';
      emit({ ok: false, mail: envelope.mail, error: failure.error });
      return { owed: undefined, reset: undefined };
    }
    // RCPT TO, one by one
    const accepted: string[] = [];
    const rejected: SendResult['rejected'] = [];
    for (let i = 0; i < envelope.rcptTo.length; i++) {
      const r = await reply(1 + i);
      const rcptFailure = classify(r, [250, 251, 252], 'RCPT TO');
      if (rcptFailure === undefined) accepted.push(envelope.recipients[i]!);
      else rejected.push({ recipient: envelope.recipients[i]!, reply: r });
    }
    if (failure === undefined && accepted.length === 0) {
      failure = new MailFailure(replyError(rejected[rejected.length - 1]!.reply, 'RCPT TO'));
    }
    if (!chunking) {
      // DATA: may only be skipped when nothing was pipelined and the envelope already failed.
      if (failure !== undefined && !pipelining) return this.fail(envelope, failure, emit);
      const dataReply = await reply(lines.length - 1);
      const dataFailure = classify(dataReply, [354], 'DATA');
      if (dataFailure !== undefined) return this.fail(envelope, failure ?? dataFailure, emit);
      if (failure !== undefined) {
        // RFC 2920 3.1: DATA accepted although nothing else was; end it with an empty message.
        await reply$(this.conn.write([{ line: '.' }])[0]!);
        return this.fail(envelope, failure, emit);
      }
    } else if (failure !== undefined) {
      return this.fail(envelope, failure, emit);
    }
    return this.sendBody(envelope, accepted, rejected, emit);
  }

  /** Streams the content and writes the end of data, held back so the next envelope can join it. */
  private async sendBody(
    envelope: Envelope,
    accepted: string[],
    rejected: SendResult['rejected'],
    emit: (outcome: SendOutcome) => void,
  ): Promise<{ owed: Owed | undefined; reset: Observable<SmtpReply> | undefined }> {
    const chunking = this.settings.chunking;
    const chunkReplies: Observable<SmtpReply>[] = [];
    let bytes: number;
    let last: Buffer;
    if (envelope.body.kind === 'memory') {
      bytes = envelope.body.contentBytes;
      last = envelope.body.data;
    } else {
      const streamed = await this.stream(envelope.body.chunks, chunkReplies);
      if (streamed instanceof MailFailure) {
        if (!chunking) {
          // Inside DATA nothing but "." ends the content, and a "." would deliver a truncated message.
          this.conn.destroy();
          throw streamed.error;
        }
        return this.fail(envelope, streamed, emit, chunkReplies);
      }
      bytes = streamed.bytes;
      last = streamed.tail;
    }
    if (this.aborted) return { owed: undefined, reset: undefined };
    // An end of data written to a connection known to be closed never left: the mail is not sent, not uncertain.
    if (this.conn.isClosed) await this.conn.writable();
    this.conn.hold();
    const extra = this.settings.lmtp ? accepted.slice(1).map(() => ({ reply: 'end of data' })) : [];
    const eod = chunking
      ? this.conn.writeBatch([{ line: `BDAT ${last.length} LAST` }, { raw: last }, ...extra])
      : this.conn.writeBatch([{ raw: last }, { line: '.' }, ...extra]);
    this.phase = 'idle';
    return { owed: { envelope, accepted, rejected, bytes, replies: [...chunkReplies, ...eod], settled: false }, reset: undefined };
  }

  /**
   * Writes a streamed body with backpressure. Under BDAT each chunk is its own `BDAT n` and the
   * final one is kept back to carry LAST. Returns the tail to write with the end of data.
   */
  private async stream(
    chunks: AsyncIterable<Uint8Array>,
    chunkReplies: Observable<SmtpReply>[],
  ): Promise<{ bytes: number; tail: Buffer } | MailFailure> {
    const chunking = this.settings.chunking;
    const encoder = new BodyEncoder(!chunking);
    let pendingPieces: Buffer[] = [];
    // Kept so that abort() can release a body that waits for a chunk which may never come.
    const iterator = chunks[Symbol.asyncIterator]();
    this.releaseBody = () => void iterator.return?.().catch(() => {});
    if (this.aborted) this.releaseBody();
    try {
      for await (const chunk of { [Symbol.asyncIterator]: () => iterator }) {
        if (this.aborted) break;
        const pieces = encoder.push(chunk);
        if (!chunking) {
          for (const piece of pieces) this.conn.writeRaw(piece);
        } else {
          if (pendingPieces.length > 0) {
            const data = Buffer.concat(pendingPieces);
            chunkReplies.push(...this.conn.writeBatch([{ line: `BDAT ${data.length}` }, { raw: data }]));
          }
          pendingPieces = pieces;
        }
        if (this.conn.congested || this.conn.isClosed) await this.conn.writable();
      }
    } catch (err) {
      if (err instanceof SmtpError && (this.conn.isClosed || err.code === 'ETIMEDOUT')) throw err;
      return new MailFailure(new SmtpError('EIO', `the message body stream failed: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
    } finally {
      this.releaseBody = undefined;
    }
    const tail = Buffer.concat([...pendingPieces, ...encoder.end()]);
    return { bytes: encoder.contentBytes, tail };
  }

  /** Reports a per-mail failure; the transaction is reset before the next one (the RSET is pipelined with it). */
  private async fail(
    envelope: Envelope,
    failure: MailFailure,
    emit: (outcome: SendOutcome) => void,
    outstanding: Observable<SmtpReply>[] = [],
  ): Promise<{ owed: undefined; reset: Observable<SmtpReply> | undefined }> {
    for (const r of outstanding) await reply$(r).catch(ignoreReplyError);
    this.phase = 'idle';
    emit({ ok: false, mail: envelope.mail, error: failure.error });
    if (this.aborted) return { owed: undefined, reset: undefined };
    this.conn.hold();
    return { owed: undefined, reset: this.conn.write([{ line: 'RSET' }])[0] };
  }

  /** Waits for the owed end-of-data replies and emits the mail's outcome. */
  private async settle(owed: Owed | undefined, emit: (outcome: SendOutcome) => void): Promise<undefined> {
    if (owed === undefined) return undefined;
    const finals: SmtpReply[] = [];
    let failure: MailFailure | undefined;
    for (const r of owed.replies) {
      const reply = await reply$(r);
      finals.push(reply);
      if (reply.code === 421) this.refused(owed, finals, emit);
      failure ??= classify(reply, [250], 'end of data');
    }
    owed.settled = true;
    const { envelope } = owed;
    const last = finals[finals.length - 1]!;
    if (this.settings.lmtp) return this.settleLmtp(owed, finals.slice(finals.length - owed.accepted.length), emit);
    if (failure !== undefined) {
      emit({ ok: false, mail: envelope.mail, error: failure.error });
      return undefined;
    }
    this.record(owed, owed.accepted, owed.rejected, last, emit);
    return undefined;
  }

  /**
   * A 421 to the end of data (or to a BDAT chunk) refuses the message as plainly as a 451 before the
   * server closes: the mail failed (under LMTP, for every recipient not yet answered), it is not
   * uncertain. The session then ends with that 421.
   */
  private refused(owed: Owed, finals: SmtpReply[], emit: (outcome: SendOutcome) => void): never {
    const reply = finals[finals.length - 1]!;
    const error = replyError(reply, 'end of data');
    owed.settled = true;
    if (this.settings.lmtp) {
      const all = [...finals, ...Array<SmtpReply>(owed.replies.length - finals.length).fill(reply)];
      this.settleLmtp(owed, all.slice(all.length - owed.accepted.length), emit);
    } else {
      emit({ ok: false, mail: owed.envelope.mail, error });
    }
    throw error;
  }

  private settleLmtp(owed: Owed, finals: SmtpReply[], emit: (outcome: SendOutcome) => void): undefined {
    const accepted: string[] = [];
    const rejected = [...owed.rejected];
    finals.forEach((reply, i) => {
      if (reply.code === 250) accepted.push(owed.accepted[i]!);
      else rejected.push({ recipient: owed.accepted[i]!, reply });
    });
    const last = finals[finals.length - 1]!;
    if (accepted.length === 0) emit({ ok: false, mail: owed.envelope.mail, error: replyError(last, 'end of data') });
    else this.record(owed, accepted, rejected, last, emit);
    return undefined;
  }

  private record(owed: Owed, accepted: string[], rejected: SendResult['rejected'], reply: SmtpReply, emit: (outcome: SendOutcome) => void): void {
    const result: SendResult = { mail: owed.envelope.mail, accepted, rejected, reply, bytes: owed.bytes };
    const queueId = queueIdOf(reply);
    if (queueId !== undefined) result.queueId = queueId;
    this.delivered.push(result);
    emit({ ok: true, result });
  }

  private async expectReset(reset: Observable<SmtpReply> | undefined): Promise<undefined> {
    if (reset === undefined) return undefined;
    const reply = await reply$(reset);
    if (reply.code !== 250) throw new SmtpError('ESERVERSYNC', `RSET was answered ${reply.code}`, { reply, command: 'RSET' });
    return undefined;
  }
}

/**
 * A reply the command takes is fine (undefined); 4xx/5xx fail the mail, except 421, which is the
 * server closing the session; any other code means the two sides are out of step.
 */
function classify(reply: SmtpReply, accepted: readonly number[], command: string): MailFailure | undefined {
  if (accepted.includes(reply.code)) return undefined;
  const error = replyError(reply, command);
  const cls = replyClass(reply);
  if ((cls === 4 || cls === 5) && reply.code !== 421) return new MailFailure(error);
  throw error;
}

function reply$(observable: Observable<SmtpReply>): Promise<SmtpReply> {
  return lastValueFrom(observable);
}

function ignoreReplyError(): void {}

function asSmtpError(err: unknown): SmtpError {
  return err instanceof SmtpError ? err : new SmtpError('EIO', err instanceof Error ? err.message : String(err), { cause: err });
}
