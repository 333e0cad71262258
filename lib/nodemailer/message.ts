import { BodyEncoder } from '../body/encoder';
import type { DsnOptions, Mail, SendResult } from '../mail/mail';
import { formatReply, type SmtpReply } from '../reply/reply';
import { type RxSmtpTransportError, recipientError } from './errors';

/**
 * DSN parameters as nodemailer takes them in `sendMail({ dsn })`, aliases included.
 *
 * @example
 * ```ts
 * const dsn: NodemailerDsn = { id: 'batch-17', return: 'headers', notify: 'success,failure' };
 * ```
 */
export interface NodemailerDsn {
  /** `'FULL'` or `'HDRS'` (nodemailer also accepts `'headers'`). */
  ret?: string | null | undefined;
  /** Alias of `ret`. */
  return?: string | undefined;
  /** The envelope identifier. */
  envid?: string | null | undefined;
  /** Alias of `envid`. */
  id?: string | undefined;
  /** `'NEVER'`, or SUCCESS, FAILURE and DELAY as a list or a comma-separated string. */
  notify?: string | string[] | null | undefined;
  /** The original recipient, sent as ORCPT on every RCPT TO (`rfc822;` added when no type is named), as nodemailer does. */
  orcpt?: string | null | undefined;
  /** Alias of `orcpt`. */
  recipient?: string | undefined;
}

// A type, not an interface: only an object type without a name is assignable to nodemailer's
// envelope type, which has an index signature.
/**
 * The envelope of a nodemailer message: `from` is false for the null sender (MAIL FROM:<>).
 *
 * @example
 * ```ts
 * const envelope: NodemailerEnvelope = { from: 'alice@example.com', to: ['bob@example.com', 'carol@example.com'] };
 * ```
 */
export type NodemailerEnvelope = {
  /** The reverse-path, or false for the null sender. */
  from: string | false;
  /** Every recipient: To, Cc and Bcc. */
  to: string[];
};

/**
 * The part of nodemailer's `MailMessage` that the transport reads. Declared here rather than
 * imported so that the transport's types do not depend on one nodemailer version: every
 * nodemailer since 6 hands its transports an object of this shape.
 *
 * @example
 * ```ts
 * transport.send(mail satisfies NodemailerMessage, (err, info) => console.log(err?.code, info?.messageId));
 * ```
 */
export interface NodemailerMessage {
  /** The `sendMail` options, of which the transport reads `dsn`. */
  data: {
    /** DSN parameters for the envelope. */
    dsn?: NodemailerDsn | undefined;
  };
  /** The compiled MIME tree. */
  message: {
    /** The envelope: `from` is false for the null sender, `to` holds To, Cc and Bcc. */
    getEnvelope(): NodemailerEnvelope;
    /** The Message-ID header's value, with angle brackets. */
    messageId(): string;
    /** The whole RFC 5322 message, built anew on each call. */
    createReadStream(): NodeJS.ReadableStream;
  };
}

/**
 * What `sendMail` resolves with: the fields of nodemailer's own SMTP transport, computed as it
 * computes them, plus rx-smtp's view of the final reply (`queueId`, `reply`).
 *
 * @example
 * ```ts
 * const info: RxSmtpSentMessageInfo = await transporter.sendMail(message);
 * console.log(info.accepted, info.rejected, info.response, info.messageTime, info.queueId);
 * ```
 */
export interface RxSmtpSentMessageInfo {
  /** The envelope the message was sent with. */
  envelope: NodemailerEnvelope;
  /** The Message-ID header's value. */
  messageId: string;
  /** Recipients the server accepted. */
  accepted: string[];
  /** Recipients the server refused; the message went to the others. */
  rejected: string[];
  /** One error per refused recipient, in the order of `rejected`; absent when none was refused, as in nodemailer. */
  rejectedErrors?: RxSmtpTransportError[];
  /** The server's EHLO keywords with their parameters (`PIPELINING`, `SIZE 10240000`, ...); absent through a pool or after HELO. */
  ehlo?: string[];
  /** Milliseconds from the start of the mail's transaction to the start of its content. */
  envelopeTime: number;
  /** Milliseconds from the start of the content to the server's final reply. */
  messageTime: number;
  /** Octets of the content as DATA carries it: CRLF line endings, leading dots doubled, and the final `.` line. */
  messageSize: number;
  /** The final reply as it stood on the wire, e.g. `250 2.0.0 Ok: queued as 4XyZ`. */
  response: string;
  /** The queue id from the final reply, when the server names one. */
  queueId?: string;
  /** The final reply, parsed. */
  reply: SmtpReply;
}

/** A nodemailer message turned into an rx-smtp {@link Mail}, with what the info needs. */
export interface ConvertedMessage {
  mail: Mail;
  envelope: NodemailerEnvelope;
  messageId: string;
  /** True once the body stream was created: from then on the message cannot be read again safely. */
  opened(): boolean;
  /** When the session started to read the content (`clock()`), once it has. */
  openedAt(): number | undefined;
  /** Octets the content takes under DATA, counted as the session read it. */
  dataSize(): number;
}

/**
 * The final line that ends DATA (RFC 5321 4.1.1.4); nodemailer counts it in `messageSize`, and the
 * CRLF before it when the content is empty.
 */
const END_OF_DATA = '.\r\n';
const EMPTY_DATA = '\r\n.\r\n';

/**
 * Converts nodemailer's compiled message. The body stream is created only when the session reads
 * it, so a mail that waits in the queue holds no open stream, and one never read can be retried.
 * `clock` stamps when the content starts to be read.
 */
export function convertMessage(source: NodemailerMessage, clock: () => number = Date.now): ConvertedMessage {
  const { from, to } = source.message.getEnvelope();
  let openedAt: number | undefined;
  // The same encoder the session uses for DATA, run to count what nodemailer calls the message size.
  const encoder = new BodyEncoder(true);
  let encoded = 0;
  const count = (pieces: Buffer[]): void => {
    for (const piece of pieces) encoded += piece.length;
  };
  const body: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      openedAt = clock();
      const chunks = source.message.createReadStream()[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
      return {
        next: async () => {
          const step = await chunks.next();
          if (step.done === true) count(encoder.end());
          else count(encoder.push(typeof step.value === 'string' ? Buffer.from(step.value) : step.value));
          return step;
        },
        return: async (value?: unknown) => (chunks.return === undefined ? { done: true, value } : chunks.return(value)) as IteratorResult<Uint8Array>,
      };
    },
  };
  const mail: Mail = { from: from === false ? '' : from, to: [...to], body };
  const dsn = source.data.dsn;
  if (dsn !== undefined && dsn !== null) mail.dsn = convertDsn(dsn);
  return {
    mail,
    envelope: { from, to: [...to] },
    messageId: source.message.messageId(),
    opened: () => openedAt !== undefined,
    openedAt: () => openedAt,
    dataSize: () => encoded + (encoded === 0 ? EMPTY_DATA.length : END_OF_DATA.length),
  };
}
/** nodemailer's spellings to rx-smtp's; the session validates the values themselves (EINVAL). */
function convertDsn(dsn: NodemailerDsn): DsnOptions {
  const out: DsnOptions = {};
  const ret = (dsn.ret ?? dsn.return)?.toUpperCase();
  if (ret !== undefined) out.ret = (ret === 'HEADERS' ? 'HDRS' : ret) as DsnOptions['ret'];
  const envid = dsn.envid ?? dsn.id;
  if (envid !== undefined && envid !== null) out.envid = envid;
  if (dsn.notify !== undefined && dsn.notify !== null) {
    const notify = (Array.isArray(dsn.notify) ? dsn.notify : dsn.notify.split(',')).map((n) => n.trim().toUpperCase());
    out.notify = (notify.includes('NEVER') ? 'NEVER' : notify) as DsnOptions['notify'];
  }
  // nodemailer sends the one original recipient it is given as every recipient's ORCPT.
  const original = dsn.orcpt ?? dsn.recipient;
  if (original !== undefined && original !== null && original !== '') out.orcpt = original as unknown as boolean; // see envelope.ts: DsnOptions.orcpt is to take a string
  return out;
}

/** What the transport measured of one mail, for the info's timings. */
export interface MailTiming {
  /** When the mail's transaction began: its batch started, or the mail before it ended. */
  startedAt: number;
  /** When the server's final reply came. */
  settledAt: number;
}

/**
 * The `sendMail` result for a message the server accepted, with nodemailer's fields: `ehlo` is the
 * server's extensions when known, the timings split at the moment the content started to be read.
 */
export function sentInfo(converted: ConvertedMessage, result: SendResult, timing: MailTiming, ehlo: string[] | undefined): RxSmtpSentMessageInfo {
  const contentAt = converted.openedAt() ?? timing.settledAt;
  const rejected = result.rejected.map((r) => r.recipient);
  const info: RxSmtpSentMessageInfo = {
    accepted: result.accepted,
    rejected,
    ...(ehlo !== undefined && { ehlo }),
    ...(rejected.length > 0 && { rejectedErrors: result.rejected.map((r) => recipientError(r.recipient, r.reply)) }),
    envelopeTime: Math.max(0, contentAt - timing.startedAt),
    messageTime: Math.max(0, timing.settledAt - contentAt),
    messageSize: converted.dataSize(),
    response: formatReply(result.reply).join('\n'),
    envelope: converted.envelope,
    messageId: converted.messageId,
    reply: result.reply,
  };
  if (result.queueId !== undefined) info.queueId = result.queueId;
  return info;
}
