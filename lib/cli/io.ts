import { access, constants, readFile } from 'node:fs/promises';

/**
 * The process's streams and environment, passed in so that tests and embedders can run the command
 * line without a real terminal.
 *
 * @example
 * ```ts
 * const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
 * ```
 */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/**
 * A file named on the command line could not be read (exit 66, EX_NOINPUT).
 *
 * @example
 * ```ts
 * throw new InputError('cannot read body.txt: no such file or directory');
 * ```
 */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/**
 * Reads a whole file as UTF-8 text, or standard input for `-`; an unreadable file is an
 * {@link InputError}.
 *
 * @example
 * ```ts
 * const body = await readText('-', io); // everything piped into rx-smtp
 * ```
 */
export async function readText(path: string, io: CliIo): Promise<string> {
  return (await readBytes(path, io)).toString('utf8');
}

/**
 * Reads a whole file as bytes, or standard input for `-` (`--data`: the message as it is).
 *
 * @example
 * ```ts
 * const raw = await readBytes('message.eml', io);
 * ```
 */
export async function readBytes(path: string, io: CliIo): Promise<Buffer> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(path);
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/**
 * Throws an {@link InputError} unless the file can be read: checked before connecting, for files
 * that are read later, as the sending goes.
 *
 * @example
 * ```ts
 * await assertReadable('mails.jsonl');
 * ```
 */
export async function assertReadable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as Error).message}`);
  }
}
