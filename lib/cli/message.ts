import { basename } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';

/** What the command line knows of a message. */
export interface MessageFields {
  /** The From header (and, elsewhere, the envelope sender): `Alice <alice@example.com>` is fine. */
  from: string;
  /** The To header: each entry may be a comma-separated list. */
  to: readonly string[];
  subject: string;
  /** Plain text; any line endings. */
  body: string;
  /** `--header`s: From, To, Subject, Date and Message-ID replace the message's own, others are added. */
  headers?: readonly (readonly [string, string])[];
  /** Files to attach, their type taken from their names. */
  attach?: readonly string[];
  /** Default: now. */
  date?: Date;
  /** With angle brackets. Default: a random one at the sender's domain. */
  messageId?: string;
}

/** Headers the composer writes itself: a `--header` with one of these names replaces its value. */
const OWN_HEADERS = new Map<string, 'from' | 'to' | 'subject' | 'date' | 'messageId'>([
  ['from', 'from'],
  ['to', 'to'],
  ['subject', 'subject'],
  ['date', 'date'],
  ['message-id', 'messageId'],
]);

/**
 * Builds the message with nodemailer's MailComposer: From, To, Subject, Date, Message-ID,
 * MIME-Version, the text (7bit, or quoted-printable when it is not plain ASCII in short lines),
 * non-ASCII header text as RFC 2047 encoded-words, and each attachment as a base64 part of a
 * multipart/mixed message. An unreadable attachment rejects.
 *
 * @example
 * ```ts
 * const raw = await composeMessage({ from: 'a@example.com', to: ['b@example.com'], subject: 'hi', body: 'Hello\n', attach: ['report.pdf'] });
 * ```
 */
export function composeMessage(fields: MessageFields): Promise<Buffer> {
  const options: Record<string, unknown> = {
    from: fields.from,
    to: [...fields.to],
    subject: fields.subject,
    text: fields.body.replace(/\r\n|\r|\n/g, '\r\n'), // as the wire will have it, so that encodings count the right lines
    date: fields.date ?? new Date(),
    ...(fields.messageId !== undefined && { messageId: fields.messageId }),
    attachments: (fields.attach ?? []).map((path) => ({ path, filename: basename(path) })),
    headers: [] as { key: string; value: string }[],
  };
  for (const [name, value] of fields.headers ?? []) {
    const own = OWN_HEADERS.get(name.toLowerCase());
    if (own === 'date') options.date = value; // kept as written
    else if (own !== undefined) options[own] = own === 'to' ? [value] : value;
    else (options.headers as { key: string; value: string }[]).push({ key: name, value });
  }
  return new Promise((resolve, reject) => {
    new MailComposer(options).compile().build((err, message) => (err ? reject(err) : resolve(message)));
  });
}
