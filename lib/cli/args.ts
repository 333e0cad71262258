import type { ParseArgsConfig } from 'node:util';
import { CONNECTION, type ConnectionCommand, MESSAGE, type MessageCommand, connection, message, parse, required } from './flags';
import { type OutboxCommand, parseOutbox } from './outbox-args';
import { USAGE, UsageError } from './usage';

export { USAGE, UsageError };

/** What `rx-smtp send` was asked to do. Paths are as given; nothing is read here. */
export interface SendCommand extends ConnectionCommand, MessageCommand {
  command: 'send';
}

/** What `rx-smtp probe` was asked to do; with `user`, it logs in too. */
export interface ProbeCommand extends ConnectionCommand {
  command: 'probe';
}

/** `--help` (also after a command) or `--version`. */
export interface InfoCommand {
  command: 'help' | 'version';
}

/** A parsed command line. */
export type Command = SendCommand | ProbeCommand | OutboxCommand | InfoCommand;

const SEND_OPTIONS = { ...CONNECTION, server: { type: 'string' }, ...MESSAGE } as const satisfies ParseArgsConfig['options'];

// A password given as a flag value lands in shell history and in every user's `ps` output.
const PASSWORD_FLAG = /^--password(=|$)/;

/**
 * Parses `rx-smtp`'s arguments (without `node` and the script). Throws {@link UsageError} for
 * anything that cannot run: an unknown command or option, a missing one, a bad value, an address
 * that is not one, options that do not go together, or a `--password` flag. `env` gives what some
 * commands default to (`RX_SMTP_REDIS` for `outbox`).
 *
 * @example
 * ```ts
 * parseCommandLine(['probe', 'smtp://localhost:2525']); // { command: 'probe', server: 'smtp://localhost:2525', ... }
 * ```
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Command {
  if (argv.some((arg) => PASSWORD_FLAG.test(arg))) {
    throw new UsageError(
      '--password is not accepted: a password on the command line lands in shell history and in ps output; ' +
        'use --password-file FILE, the RX_SMTP_PASSWORD environment variable, or the prompt',
    );
  }
  const [command, ...rest] = argv;
  switch (command) {
    case 'send':
      return parseSend(rest);
    case 'probe':
      return parseProbe(rest);
    case 'outbox':
      return parseOutbox(rest, env) ?? { command: 'help' };
    case '--help':
    case '-h':
    case 'help':
      return { command: 'help' };
    case '--version':
      return { command: 'version' };
    case undefined:
      throw new UsageError('no command given');
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

function parseSend(args: string[]): Command {
  const { values } = parse(args, SEND_OPTIONS, false);
  if (values.help === true) return { command: 'help' };
  const server = required(values.server, '--server');
  const mail = message(values);
  return { command: 'send', ...connection(server, values), ...mail };
}

function parseProbe(args: string[]): Command {
  const { values, positionals } = parse(args, CONNECTION, true);
  if (values.help === true) return { command: 'help' };
  if (positionals.length !== 1) throw new UsageError('probe takes exactly one server, e.g. rx-smtp probe smtp://mail.example.com:587');
  return { command: 'probe', ...connection(positionals[0]!, values) };
}
