import type { ConnectionCommand } from './flags';
import { UsageError } from './usage';
import { type CliIo, readText } from './io';

/** The environment variable a password may come from (never a flag: see {@link parseCommandLine}). */
export const PASSWORD_VARIABLE = 'RX_SMTP_PASSWORD';

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = ['\u007f', '\b'];

/**
 * The password for `--user`: the first line of `--password-file`, else `RX_SMTP_PASSWORD`, else
 * a prompt without echo when standard input is a terminal. Undefined without `--user`; a
 * {@link UsageError} when there is no way to get one.
 *
 * @example
 * ```ts
 * const password = await resolvePassword(command, io);
 * ```
 */
export async function resolvePassword(command: Pick<ConnectionCommand, 'user' | 'passwordFile'>, io: CliIo): Promise<string | undefined> {
  if (command.user === undefined) return undefined;
  if (command.passwordFile !== undefined) {
    const password = (await readText(command.passwordFile, io)).split(/\r?\n/, 1)[0]!;
    if (password === '') throw new UsageError(`${command.passwordFile}: the first line (the password) is empty`);
    return password;
  }
  const fromEnv = io.env[PASSWORD_VARIABLE];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (io.stdin.isTTY === true && io.stdin.setRawMode !== undefined) {
    return promptHidden(`Password for ${command.user}: `, io);
  }
  throw new UsageError(`--user needs a password: use --password-file FILE or ${PASSWORD_VARIABLE}, or run on a terminal to be asked`);
}

/**
 * Asks for a line on the terminal without echoing it (raw mode, so the terminal shows nothing
 * at all). Enter ends it, Backspace takes back a character, Ctrl-C or Ctrl-D on an empty line
 * cancels with a {@link UsageError}.
 *
 * @example
 * ```ts
 * const secret = await promptHidden('Password: ', io);
 * ```
 */
export function promptHidden(prompt: string, io: CliIo): Promise<string> {
  const input = io.stdin;
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const finish = (error?: Error): void => {
      input.removeListener('data', onData);
      input.setRawMode?.(false);
      input.pause();
      io.stderr.write('\n');
      if (error === undefined) resolve(value);
      else reject(error);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n') return finish();
        if (char === CTRL_C || (char === CTRL_D && value === '')) return finish(new UsageError('no password entered'));
        if (char === CTRL_D) return finish();
        if (BACKSPACE.includes(char)) value = [...value].slice(0, -1).join('');
        else value += char;
      }
    };
    io.stderr.write(prompt);
    input.setRawMode?.(true);
    input.on('data', onData);
    input.resume();
  });
}
