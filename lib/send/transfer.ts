import type { Observable } from 'rxjs';
import { BodyEncoder } from '../body/encoder';
import { SendAllError, SmtpError, replyError } from '../errors';
import { type Envelope, type TransferMode, prepareEnvelope } from '../mail/envelope';
import type { Mail, SendOutcome, SendResult } from '../mail/mail';
import type { SmtpReply } from '../reply/reply';
import type { Connection } from '../transport/connection';
import type { MailQueue } from './mail-queue';
import { MailFailure, asSmtpError, classify, expectReset, ignoreReplyError, judgeWhole, reply$ } from './outcome';
import { queueIdOf } from './queue-id';
import { type InFlight, MAX_MAILS_IN_FLIGHT, type Owed, arrived, unanswered, untilWritable, writeWhole } from './window';

/** How the transfer talks to this server. */
export interface TransferSettings extends TransferMode {
  /** RFC 2920: MAIL, RCPT and DATA in one write, and the next mail behind the end of data. */
  pipelining: boolean;
  /** RFC 2033: one reply per accepted recipient after the end of data. */
  lmtp: boolean;
}

/** What an abort must do: RSET is safe outside DATA; inside it only closing the connection is. */
type Phase = 'idle' | 'envelope' | 'data';

/**
 * Sends mails over one connection, one transaction at a time but pipelined (RFC 2920) when the
 * server allows: MAIL, every RCPT and DATA leave in one write, and the next mail's commands leave
 * in the same write as the previous end of data, so that a steady stream costs one round trip per
 * message; under CHUNKING whole mails go out back to back, a window of them in flight. Replies are
 * matched in order by the connection. Every mail ends as exactly one outcome or, when the session
 * itself fails, in one of the lists of the {@link SendAllError}.
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
    // Mails written whole under CHUNKING + PIPELINING, oldest first; they keep the `owed` and `reset` before them.
    const inFlight: InFlight[] = [];
    // Everything written gets its replies (and outcomes, in order) before waiting for anything else.
    const settleAll = async (): Promise<void> => {
      this.conn.release();
      while (inFlight.length > 0) reset = await this.settleOldest(inFlight, emit);
      this.conn.release();
      owed = await this.settle(owed, emit);
      reset = await expectReset(reset);
    };
    try {
      for (;;) {
        current = queue.poll();
        if (current === undefined) {
          // Nothing here to pipeline behind the owed end of data: its outcome is due when its reply
          // comes, not when the next mail does (an input may wait for that outcome to give more).
          await settleAll();
          current = await queue.take().catch(async (err: unknown) => {
            // The input failed: the mail already sent is still owed its reply; settle it, or it would be reported uncertain.
            await settleAll();
            throw err;
          });
        }
        if (this.aborted) return;
        if (current === undefined) break;
        let envelope: Envelope;
        try {
          envelope = prepareEnvelope(current, this.settings);
        } catch (err) {
          await settleAll();
          emit({ ok: false, mail: current, error: asSmtpError(err) });
          continue;
        }
        if (this.windowed(envelope, inFlight.length > 0 || queue.hasNext())) {
          reset = await this.makeRoom(inFlight, reset, emit);
          if (this.aborted) return;
          inFlight.push(writeWhole(this.conn, envelope, inFlight.length > 0, { owed, reset }));
          owed = reset = current = undefined;
          await untilWritable(this.conn);
          continue;
        }
        if (inFlight.length > 0) await settleAll();
        ({ owed, reset } = await this.transaction(envelope, owed, reset, emit));
        current = undefined;
        if (this.aborted) return;
      }
      await settleAll();
    } catch (err) {
      this.conn.release();
      if (this.aborted) return;
      throw this.sessionFailure(err, queue, owed, current, inFlight);
    } finally {
      this.phase = 'idle';
    }
  }

  /** Every mail not delivered yet: uncertain when its end of data went out unanswered, otherwise not sent. */
  private sessionFailure(err: unknown, queue: MailQueue, owed: Owed | undefined, current: Mail | undefined, inFlight: InFlight[]): SendAllError {
    const pending = queue.close();
    return new SendAllError(asSmtpError(err), {
      delivered: [...this.delivered],
      uncertain: [...(owed === undefined || owed.settled ? [] : [owed.envelope.mail]), ...unanswered(inFlight)],
      notSent: [...(current === undefined || current === owed?.envelope.mail ? [] : [current]), ...pending],
    });
  }

  /**
   * Whether this mail goes whole into the window: BDAT needs no 354, but only with more mails to
   * follow, and not under LMTP (how many replies follow BDAT LAST depends on the RCPT replies).
   */
  private windowed(envelope: Envelope, more: boolean): envelope is Envelope & { body: { kind: 'memory' } } {
    const { chunking, pipelining, lmtp } = this.settings;
    return chunking && pipelining && !lmtp && more && envelope.body.kind === 'memory';
  }

  /** Settles the oldest mail when the window is full; a mail written to a connection known to be closed never left (not sent, not uncertain). */
  private async makeRoom(inFlight: InFlight[], reset: Observable<SmtpReply> | undefined, emit: (outcome: SendOutcome) => void): Promise<Observable<SmtpReply> | undefined> {
    if (inFlight.length >= MAX_MAILS_IN_FLIGHT) reset = await this.settleOldest(inFlight, emit);
    if (this.conn.isClosed) await this.conn.writable();
    return reset;
  }

  /**
   * Reads the replies of the oldest mail in flight and emits its outcome; it leaves the window only
   * then, so that a session failure meanwhile counts it uncertain. After a failed mail with nothing
   * behind it an RSET is written (returned); a mail behind it carries its own.
   */
  private async settleOldest(inFlight: InFlight[], emit: (outcome: SendOutcome) => void): Promise<Observable<SmtpReply> | undefined> {
    const item = inFlight[0]!;
    // Mails written since are held to leave together; they must leave now unless this one is answered already.
    if (!arrived(item.replies[item.replies.length - 1]!)) this.conn.release();
    await this.settle(item.before, emit);
    await expectReset(item.reset);
    const finals: SmtpReply[] = [];
    const { failure, last } = await judgeWhole(item, async (r) => {
      const reply = await reply$(r);
      finals.push(reply);
      // A 421 anywhere in it refuses the mail plainly, as it does to the end of data.
      if (reply.code === 421) this.refused(item, finals, emit);
      return reply;
    });
    item.settled = true;
    inFlight.shift();
    if (failure === undefined) {
      this.record(item, item.accepted, item.rejected, last, emit);
      return undefined;
    }
    emit({ ok: false, mail: item.envelope.mail, error: failure.error });
    if (inFlight.length > 0 || this.aborted) return undefined;
    this.conn.hold();
    return this.conn.write([{ line: 'RSET' }])[0];
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
      await expectReset(resetBefore);
    } else {
      this.conn.release();
      await this.settle(owedBefore, emit);
      await expectReset(resetBefore);
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
}
