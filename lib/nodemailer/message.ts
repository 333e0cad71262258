import { replyError, type SmtpError } from '../errors';
import type { DsnOptions, Mail, SendResult } from '../mail/mail';
import { formatReply, type SmtpReply } from '../reply/reply';

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
  /** An original recipient; rx-smtp then sends each recipient's own address as ORCPT. */
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
 * What `sendMail` resolves with: the fields of nodemailer's own SMTP transports, plus rx-smtp's
 * view of the final reply.
 *
 * @example
 * ```ts
 * const info: RxSmtpSentMessageInfo = await transporter.sendMail(message);
 * console.log(info.accepted, info.rejected, info.response, info.queueId);
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
  /** One `SmtpError` per refused recipient, in the order of `rejected`, made from its RCPT reply. */
  rejectedErrors: SmtpError[];
  /** Always empty: kept for code written against nodemailer's LMTP results. */
  pending: string[];
  /** The final reply as it stood on the wire, e.g. `250 2.0.0 Ok: queued as 4XyZ`. */
  response: string;
  /** Octets of message content sent (before dot-stuffing). */
  messageSize: number;
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
}

/**
 * Converts nodemailer's compiled message. The body stream is created only when the session reads
 * it, so a mail that waits in the queue holds no open stream, and one never read can be retried.
 */
export function convertMessage(source: NodemailerMessage): ConvertedMessage {
  const { from, to } = source.message.getEnvelope();
  let opened = false;
  const body: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      opened = true;
      return source.message.createReadStream()[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    },
  };
  const mail: Mail = { from: from === false ? '' : from, to: [...to], body };
  const dsn = source.data.dsn;
  if (dsn !== undefined && dsn !== null) mail.dsn = convertDsn(dsn);
  return { mail, envelope: { from, to: [...to] }, messageId: source.message.messageId(), opened: () => opened };
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
  if ((dsn.orcpt ?? dsn.recipient) != null) out.orcpt = true;
  return out;
}

/** The `sendMail` result for a message the server accepted. */
export function sentInfo(converted: ConvertedMessage, result: SendResult): RxSmtpSentMessageInfo {
  const info: RxSmtpSentMessageInfo = {
    envelope: converted.envelope,
    messageId: converted.messageId,
    accepted: result.accepted,
    rejected: result.rejected.map((r) => r.recipient),
    rejectedErrors: result.rejected.map((r) => replyError(r.reply, `RCPT TO:<${r.recipient}>`)),
    pending: [],
    response: formatReply(result.reply).join('\n'),
    messageSize: result.bytes,
    reply: result.reply,
  };
  if (result.queueId !== undefined) info.queueId = result.queueId;
  return info;
}
