import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { envelopeAddresses, envelopeSender } from '../mail/address-list';
import type { Mail } from '../mail/mail';
import { InputError } from './io';
import { type MessageFields, composeMessage } from './message';

/** What the command line gives every mail; a `--mails` line may override from, to, subject and body. */
export interface MailDefaults {
  from?: string;
  to: readonly string[];
  subject: string;
  body: string;
  headers?: readonly (readonly [string, string])[];
  attach?: readonly string[];
}

/** A mail and where it came from (`line 3` of a `--mails` file), for the report. */
export interface LabelledMail {
  mail: Mail;
  label: string;
}

/**
 * `--mails` lines that are not mails (exit 65, EX_DATAERR): not JSON, an unknown key, a field of
 * the wrong type, an address that is not one, or a field missing here and on the command line.
 * Each problem names its line.
 *
 * @example
 * ```ts
 * throw new DataError(['mails.jsonl line 3: "to" must be a string or an array of strings']);
 * ```
 */
export class DataError extends Error {
  override readonly name = 'DataError';

  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

/** Bad lines listed one by one; past this many, only their number. */
const MAX_LISTED_PROBLEMS = 20;

/**
 * One mail from the command line's fields: the envelope from `from` and `to` (names and lists
 * allowed), the content built by {@link composeMessage}.
 *
 * @example
 * ```ts
 * const mail = await composeMail({ from: 'a@example.com', to: ['b@example.com'], subject: 'hi', body: 'Hello' });
 * ```
 */
export async function composeMail(fields: MessageFields): Promise<Mail> {
  return { from: fields.from, to: [...fields.to], body: await composeMessage(fields) };
}

/**
 * `count` copies of the message, built one at a time as the sender pulls them (each has its own
 * Message-ID), so a large count never sits in memory. Labelled `copy N`.
 *
 * @example
 * ```ts
 * pool.sendAll(copies(defaults, 1000));
 * ```
 */
export async function* copies(defaults: Required<Omit<MailDefaults, 'headers' | 'attach'>> & MailDefaults, count: number): AsyncGenerator<LabelledMail> {
  for (let i = 1; i <= count; i++) yield { mail: await composeMail(defaults), label: `copy ${i}` };
}

/**
 * Reads a whole `--mails` file once to check every line, before anything is sent: throws a
 * {@link DataError} listing the bad lines, or an {@link InputError} when the file cannot be read.
 *
 * @example
 * ```ts
 * await checkMailsFile('mails.jsonl', defaults); // then send: mailsFromFile('mails.jsonl', defaults)
 * ```
 */
export async function checkMailsFile(path: string, defaults: MailDefaults): Promise<void> {
  const problems: string[] = [];
  for await (const [line, number] of linesOf(path)) {
    try {
      fieldsOf(line, defaults, `${path} line ${number}`);
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > MAX_LISTED_PROBLEMS) {
    throw new DataError([...problems.slice(0, MAX_LISTED_PROBLEMS), `... and ${problems.length - MAX_LISTED_PROBLEMS} more bad lines in ${path}`]);
  }
  if (problems.length > 0) throw new DataError(problems);
}

/**
 * The mails of a JSON Lines file, one object per line (`{"from","to","subject","body"}`, each
 * falling back to the command line), built as the sender pulls them and labelled `line N`. Blank
 * lines are skipped. Check the file with {@link checkMailsFile} first.
 *
 * @example
 * ```ts
 * for await (const { mail, label } of mailsFromFile('mails.jsonl', defaults)) console.log(label, mail.to);
 * ```
 */
export async function* mailsFromFile(path: string, defaults: MailDefaults): AsyncGenerator<LabelledMail> {
  for await (const [line, number] of linesOf(path)) {
    yield { mail: await composeMail(fieldsOf(line, defaults, `${path} line ${number}`)), label: `line ${number}` };
  }
}

/** The non-blank lines of a file with their numbers (from 1), read as they are needed. */
async function* linesOf(path: string): AsyncGenerator<[string, number]> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const lines = createInterface({ input: handle.createReadStream({ encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    let number = 0;
    for await (const line of lines) {
      number++;
      if (line.trim() !== '') yield [line, number];
    }
  } finally {
    lines.close();
    await handle.close();
  }
}

const KEYS = new Set(['from', 'to', 'subject', 'body']);

function fieldsOf(line: string, defaults: MailDefaults, where: string): MessageFields {
  const bad = (problem: string) => new DataError([`${where}: ${problem}`]);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('must be a JSON object');
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !KEYS.has(key));
  if (unknown !== undefined) throw bad(`unknown key ${JSON.stringify(unknown)} (expected from, to, subject, body)`);
  const to = fields.to === undefined ? defaults.to : typeof fields.to === 'string' ? [fields.to] : fields.to;
  if (!Array.isArray(to) || to.length === 0 || !to.every((t) => typeof t === 'string')) {
    throw bad('"to" must be a string or a non-empty array of strings (or give --to)');
  }
  const from = text(fields.from, defaults.from, 'from', bad);
  if (from === undefined) throw bad('"from" is missing (or give --from)');
  const subject = text(fields.subject, defaults.subject, 'subject', bad)!;
  if (/[\r\n\0]/.test(subject)) throw bad('"subject" must not contain a line break or NUL');
  try {
    envelopeSender(from);
    for (const list of to) envelopeAddresses(list, 'a recipient');
  } catch (err) {
    throw bad((err as Error).message);
  }
  return { ...defaults, from, to, subject, body: text(fields.body, defaults.body, 'body', bad)! };
}

function text(value: unknown, fallback: string | undefined, key: string, bad: (problem: string) => DataError): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw bad(`"${key}" must be a string`);
  return value;
}
