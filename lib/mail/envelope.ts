import { type BodySource, bodySource } from '../body/source';
import { encodeBody } from '../body/encoder';
import { SmtpError, invalid } from '../errors';
import { assertSafeText } from '../options';
import { checkMailbox } from './address';
import { envelopeAddresses, envelopeSender } from './address-list';
import type { DsnOptions, Mail } from './mail';
import { xtext } from './xtext';

/** RFC 3461 4.4: ENVID is at most 100 characters. */
const MAX_ENVID_LENGTH = 100;

/** What the transaction needs to know about one mail, checked and encoded before anything is sent. */
export interface Envelope {
  mail: Mail;
  recipients: string[];
  /** The MAIL FROM line with its parameters. */
  mailFrom: string;
  /** One RCPT TO line per recipient, in order. */
  rcptTo: string[];
  /** In-memory content already encoded for the chosen command (dot-stuffed for DATA), or a stream. */
  body: { kind: 'memory'; data: Buffer; contentBytes: number } | { kind: 'stream'; chunks: AsyncIterable<Uint8Array> };
}

/** The server extensions and client settings a transaction depends on. */
export interface TransferMode {
  capabilities: ReadonlyMap<string, string>;
  /** BDAT (RFC 3030) instead of DATA. */
  chunking: boolean;
}

/**
 * Checks a mail against the caller's rules and the server's extensions and builds its commands.
 * Throws `EINVAL` (bad addresses, no recipient, bad size or DSN values), `ENOTSUP` (SMTPUTF8 or
 * DSN needed but not offered) or `EMSGSIZE` (larger than the server's SIZE) before anything is sent.
 *
 * @example
 * ```ts
 * const envelope = prepareEnvelope(mail, { capabilities: session.capabilities!, chunking: false });
 * envelope.mailFrom; // 'MAIL FROM:<a@example.com> SIZE=42'
 * ```
 */
export function prepareEnvelope(mail: Mail, mode: TransferMode): Envelope {
  if (mail === null || typeof mail !== 'object') throw invalid('a mail must be an object');
  const caps = mode.capabilities;
  // People write `Bob <bob@example.com>` and comma-separated lists: the envelope takes the bare addresses.
  // (Loops rather than flatMap and spreads: this runs once a mail, on the sending path.)
  const written: readonly unknown[] = typeof mail.to === 'string' ? [mail.to] : Array.isArray(mail.to) ? mail.to : [];
  const recipients: string[] = [];
  for (const to of written) for (const address of envelopeAddresses(to, 'a recipient')) recipients.push(address);
  if (recipients.length === 0) throw invalid('a mail needs at least one recipient');
  if (typeof mail.from !== 'string') throw invalid('mail.from must be a string');
  const from = mail.from === '' ? '' : envelopeSender(mail.from);
  let utf8 = from === '' ? false : checkMailbox(from, 'the sender');
  for (const r of recipients) {
    if (r === '') throw invalid('a recipient is empty');
    utf8 = checkMailbox(r, 'a recipient') || utf8;
  }
  if (utf8 && !caps.has('SMTPUTF8')) throw new SmtpError('ENOTSUP', 'an address is not ASCII and the server does not offer SMTPUTF8');
  if (mail.dsn !== undefined && !caps.has('DSN')) throw new SmtpError('ENOTSUP', 'DSN was requested and the server does not offer it');
  if (mail.size !== undefined && (!Number.isSafeInteger(mail.size) || mail.size < 0)) throw invalid('mail.size must be a non-negative integer');

  const source: BodySource = bodySource(mail.body);
  const body: Envelope['body'] = source.kind === 'memory' ? { kind: 'memory', ...encodeBody(source.bytes, !mode.chunking) } : source;
  const size = body.kind === 'memory' ? body.contentBytes : mail.size;
  const limit = Number.parseInt(caps.get('SIZE') ?? '', 10);
  if (size !== undefined && limit > 0 && size > limit) {
    throw new SmtpError('EMSGSIZE', `the message is ${size} octets and the server accepts at most ${limit}`);
  }

  let mailFrom = `MAIL FROM:<${from}>`;
  if (size !== undefined && caps.has('SIZE')) mailFrom += ` SIZE=${size}`;
  if (caps.has('8BITMIME')) mailFrom += ' BODY=8BITMIME';
  if (utf8) mailFrom += ' SMTPUTF8';
  const dsn = mail.dsn;
  if (dsn !== undefined) for (const param of dsnMailParams(dsn)) mailFrom += ` ${param}`;
  const rcptTo: string[] = [];
  for (const r of recipients) rcptTo.push(dsn === undefined ? `RCPT TO:<${r}>` : `RCPT TO:<${r}>${dsnRcptParams(dsn, r)}`);
  return { mail, recipients, mailFrom, rcptTo, body };
}

function dsnMailParams(dsn: DsnOptions): string[] {
  const params: string[] = [];
  if (dsn.ret !== undefined) {
    if (dsn.ret !== 'FULL' && dsn.ret !== 'HDRS') throw invalid("dsn.ret must be 'FULL' or 'HDRS'");
    params.push(`RET=${dsn.ret}`);
  }
  if (dsn.envid !== undefined) {
    if (typeof dsn.envid !== 'string' || dsn.envid.length === 0) throw invalid('dsn.envid must be a non-empty string');
    const encoded = xtext(dsn.envid);
    if (encoded.length > MAX_ENVID_LENGTH) throw invalid(`dsn.envid is longer than ${MAX_ENVID_LENGTH} characters once xtext-encoded`);
    params.push(`ENVID=${encoded}`);
  }
  return params;
}

const NOTIFY_VALUES = ['SUCCESS', 'FAILURE', 'DELAY'];

function dsnRcptParams(dsn: DsnOptions, recipient: string): string {
  let params = '';
  if (dsn.notify !== undefined) {
    if (dsn.notify === 'NEVER') params += ' NOTIFY=NEVER';
    else if (Array.isArray(dsn.notify) && dsn.notify.length > 0 && dsn.notify.every((n) => NOTIFY_VALUES.includes(n))) {
      params += ` NOTIFY=${[...new Set(dsn.notify)].join(',')}`;
    } else throw invalid("dsn.notify must be 'NEVER' or a non-empty list of SUCCESS, FAILURE, DELAY");
  }
  // true: each recipient's own address; a string (nodemailer's dsn.recipient): that original
  // recipient on every RCPT, `rfc822;` added when it names no address type. DsnOptions.orcpt is
  // typed boolean until mail.ts allows the string too.
  const orcpt: unknown = dsn.orcpt;
  if (orcpt === true) {
    assertSafeText(recipient, 'a recipient');
    params += ` ORCPT=rfc822;${xtext(recipient)}`;
  } else if (typeof orcpt === 'string') {
    if (orcpt === '') throw invalid('dsn.orcpt must be true or a non-empty address');
    params += ` ORCPT=${orcpt.includes(';') ? xtext(orcpt) : `rfc822;${xtext(orcpt)}`}`;
  }
  return params;
}
