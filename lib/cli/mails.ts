import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Mail } from '../mail/mail';
import { InputError } from './io';
import { composeMessage } from './message';

/** What the command line gives every mail; a `--mails` line may override each field. */
export interface MailDefaults {
  from?: string;
  to: readonly string[];
  subject: string;
  body: string;
}

/**
 * A `--mails` line that is not a mail (exit 65, EX_DATAERR): not JSON, an unknown key, a field of
 * the wrong type, or a field missing here and on the command line.
 *
 * @example
 * ```ts
 * throw new DataError('mails.jsonl line 3: "to" must be a string or an array of strings');
 * ```
 */
export class DataError extends Error {
  override readonly name = 'DataError';
}

/**
 * One mail from the command line's fields.
 *
 * @example
 * ```ts
 * const mail = composeMail({ from: 'a@example.com', to: ['b@example.com'], subject: 'hi', body: 'Hello' });
 * ```
 */
export function composeMail(fields: Required<MailDefaults>): Mail {
  return { from: fields.from, to: [...fields.to], body: composeMessage(fields) };
}

/**
 * `count` copies of the message, made one at a time as the sender pulls them (each has its own
 * Message-ID), so a large count never sits in memory.
 *
 * @example
 * ```ts
 * pool.sendAll(copies(defaults, 1000));
 * ```
 */
export function* copies(defaults: Required<MailDefaults>, count: number): Generator<Mail> {
  for (let i = 0; i < count; i++) yield composeMail(defaults);
}

const KEYS = new Set(['from', 'to', 'subject', 'body']);

/**
 * The mails of a JSON Lines file, one object per line (`{"from","to","subject","body"}`, each
 * falling back to the command line), read as the sender pulls them. Blank lines are skipped. An
 * unreadable file is an {@link InputError}, a bad line a {@link DataError} naming its number.
 *
 * @example
 * ```ts
 * for await (const mail of mailsFromFile('mails.jsonl', defaults)) console.log(mail.to);
 * ```
 */
export async function* mailsFromFile(path: string, defaults: MailDefaults): AsyncGenerator<Mail> {
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
      if (line.trim() === '') continue;
      yield parseLine(line, defaults, `${path} line ${number}`);
    }
  } finally {
    lines.close();
    await handle.close();
  }
}

function parseLine(line: string, defaults: MailDefaults, where: string): Mail {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new DataError(`${where}: not JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new DataError(`${where}: must be a JSON object`);
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !KEYS.has(key));
  if (unknown !== undefined) throw new DataError(`${where}: unknown key ${JSON.stringify(unknown)} (expected from, to, subject, body)`);
  const to = fields.to === undefined ? defaults.to : typeof fields.to === 'string' ? [fields.to] : fields.to;
  if (!Array.isArray(to) || to.length === 0 || !to.every((t) => typeof t === 'string')) {
    throw new DataError(`${where}: "to" must be a string or a non-empty array of strings (or give --to)`);
  }
  const from = text(fields.from, defaults.from, 'from', where);
  if (from === undefined) throw new DataError(`${where}: "from" is missing (or give --from)`);
  const subject = text(fields.subject, defaults.subject, 'subject', where)!;
  const body = text(fields.body, defaults.body, 'body', where)!;
  try {
    return composeMail({ from, to, subject, body });
  } catch (err) {
    throw new DataError(`${where}: ${(err as Error).message}`);
  }
}

function text(value: unknown, fallback: string | undefined, key: string, where: string): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new DataError(`${where}: "${key}" must be a string`);
  return value;
}
