import { bodySource } from '../body/source';
import { SmtpError, invalid } from '../errors';
import { checkMailbox } from '../mail/address';
import type { DsnOptions, Mail } from '../mail/mail';

/**
 * What a job carries: the mail, whole, as JSON. The body is kept as the text it was given, or as
 * base64 when it was bytes, so that a worker on another machine sends exactly those octets.
 */
export interface OutboxJobData {
  from: string;
  to: string[];
  body: string;
  /** How `body` is stored: the caller's text as it was, or base64 for bytes and streams. */
  encoding: 'utf8' | 'base64';
  dsn?: DsnOptions;
}

/**
 * A megabyte of body by default: Redis keeps every waiting mail in memory, and a megabyte covers
 * transactional mail and newsletters; larger mails belong in object storage, with a link in the mail.
 */
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;
/** The most `maxBodyBytes` may be: base64 of it stays well under Redis's 512 MB string limit. */
export const MAX_BODY_BYTES_LIMIT = 256 * 1_048_576;
/** A job id longer than this is a mistake, not an id (it is stored in many Redis keys). */
const MAX_ID_LENGTH = 256;
/** Letters, digits and `. _ - + = @ /`: printable, no `:` (BullMQ's key separator), no space. */
const ID_CHARACTERS = /^[A-Za-z0-9._\-+=@/]+$/;

/**
 * Checks a caller's job id. BullMQ refuses ids that are whole numbers (its own ids are) and ids
 * with `:` (it builds Redis keys from ids); anything else unprintable would only cause trouble in
 * a command line and in logs. Throws `EINVAL`.
 */
export function checkJobId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || !ID_CHARACTERS.test(id)) {
    throw invalid(`an outbox id must be 1 to ${MAX_ID_LENGTH} characters of letters, digits and . _ - + = @ /`);
  }
  if (/^\d+$/.test(id)) throw invalid('an outbox id must not be a whole number: those are the ids the outbox makes itself');
  return id;
}

/**
 * The job data of a mail: addresses checked (`EINVAL`), the body read whole (a stream too) and
 * refused above `maxBodyBytes` octets (`EMSGSIZE`; a stream is released at that point).
 */
export async function jobDataOf(mail: Mail, maxBodyBytes: number): Promise<OutboxJobData> {
  if (mail === null || typeof mail !== 'object') throw invalid('a mail must be an object');
  const to = typeof mail.to === 'string' ? [mail.to] : Array.isArray(mail.to) ? [...mail.to] : [];
  if (to.length === 0) throw invalid('a mail needs at least one recipient');
  if (typeof mail.from !== 'string') throw invalid('mail.from must be a string');
  if (mail.from !== '') checkMailbox(mail.from, 'the sender');
  for (const recipient of to) checkMailbox(recipient, 'a recipient');
  const data: OutboxJobData = { from: mail.from, to, ...(await storedBody(mail.body, maxBodyBytes)) };
  if (mail.dsn !== undefined) data.dsn = mail.dsn;
  return data;
}

/**
 * The mail a job describes, to give the pool; `id` (the job's) is carried back in its outcome.
 *
 * @example
 * ```ts
 * pool.sendAll([mailOf(job.data, job.id)]);
 * ```
 */
export function mailOf(data: OutboxJobData, id?: string): Mail {
  const body = data.encoding === 'base64' ? Buffer.from(data.body, 'base64') : data.body;
  return { from: data.from, to: data.to, body, ...(data.dsn !== undefined && { dsn: data.dsn }), ...(id !== undefined && { id }) };
}

async function storedBody(body: Mail['body'], max: number): Promise<Pick<OutboxJobData, 'body' | 'encoding'>> {
  if (typeof body === 'string') {
    checkSize(Buffer.byteLength(body, 'utf8'), max);
    return { body, encoding: 'utf8' };
  }
  const source = bodySource(body);
  if (source.kind === 'memory') {
    checkSize(source.bytes.length, max);
    return { body: source.bytes.toString('base64'), encoding: 'base64' };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    // Throwing out of `for await` returns the iterator, which releases the stream.
    for await (const chunk of source.chunks) {
      size += chunk.byteLength;
      checkSize(size, max);
      chunks.push(Buffer.from(chunk));
    }
  } catch (error) {
    if (error instanceof SmtpError) throw error;
    throw new SmtpError('EIO', 'the mail body stream failed', { cause: error });
  }
  return { body: Buffer.concat(chunks).toString('base64'), encoding: 'base64' };
}

function checkSize(bytes: number, max: number): void {
  if (bytes > max) throw new SmtpError('EMSGSIZE', `the body is larger than the outbox's limit of ${max} octets (maxBodyBytes)`);
}
