import type { ParseArgsConfig } from 'node:util';
import type { TlsMode } from '../options';
import { OUTBOX_USAGE, type OutboxCommand, parseOutbox } from './outbox-args';
import { COMMON, UsageError, common, integer, parse, required } from './parse';

export { UsageError };

/** What `rx-smtp send` was asked to do. Paths are as given; nothing is read here. */
export interface SendCommand {
  command: 'send';
  server: string;
  user?: string;
  passwordFile?: string;
  from?: string;
  to: string[];
  subject?: string;
  /** A file to read the body from, or `-` for standard input. */
  body?: string;
  tls?: TlsMode;
  ca?: string;
  /** Seconds to wait for each reply. */
  timeout?: number;
  verbose: boolean;
  /** Send this many copies. */
  count?: number;
  /** Send one mail per line of this JSON Lines file. */
  mails?: string;
}

/** What `rx-smtp probe` was asked to do. */
export interface ProbeCommand {
  command: 'probe';
  server: string;
  tls?: TlsMode;
  ca?: string;
  timeout?: number;
  verbose: boolean;
}

/** `--help` (also after a command) or `--version`. */
export interface InfoCommand {
  command: 'help' | 'version';
}

/** A parsed command line. */
export type Command = SendCommand | ProbeCommand | OutboxCommand | InfoCommand;

/** The usage text, for `--help` and after a usage error. */
export const USAGE = `Usage:
  rx-smtp send --server smtp://host:587 --user U --from A --to B [--to C] [options]
  rx-smtp probe smtp://host:port [--tls MODE] [--ca FILE]
  rx-smtp outbox add|work|status|uncertain [options]
  rx-smtp --help | --version

send options:
  --server URL          smtp://host:port (STARTTLS when offered) or smtps://host:465 (implicit TLS)
  --user NAME           authenticate as NAME; the password comes from --password-file,
                        the RX_SMTP_PASSWORD environment variable, or a prompt on a terminal
  --password-file FILE  read the password from the first line of FILE
  --from ADDRESS        the sender (envelope and From:)
  --to ADDRESS          a recipient; repeat for more
  --subject TEXT        the Subject: (default "rx-smtp test")
  --body FILE|-         the text of the message, from FILE or standard input
  --count N             send N copies through a pool of connections, with progress
  --mails FILE.jsonl    send one mail per line: {"from","to","subject","body"}, each optional
                        when given on the command line
${OUTBOX_USAGE}common options:
  --tls MODE            starttls (default), starttls-required, implicit or none
  --ca FILE             trust the CA certificate(s) in FILE as well as the system's
  --timeout SECONDS     give up on a reply after SECONDS (default 60)
  --verbose             print the conversation (passwords redacted) on standard error

Exit status: 0 sent, 64 usage, 65 bad --mails line, 66 unreadable file, 69 refused (5xx),
75 temporary failure (4xx, timeout, connection), 76 protocol error, 77 authentication refused.
`;

/** A --count beyond this is a typo, not a test run. */
const MAX_COUNT = 10_000_000;

const SEND_OPTIONS = {
  ...COMMON,
  server: { type: 'string' },
  user: { type: 'string' },
  'password-file': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string', multiple: true },
  subject: { type: 'string' },
  body: { type: 'string' },
  count: { type: 'string' },
  mails: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

// A password given as a flag value lands in shell history and in every user's `ps` output.
const PASSWORD_FLAG = /^--password(=|$)/;

/**
 * Parses `rx-smtp`'s arguments (without `node` and the script). Throws {@link UsageError} for
 * anything that cannot run: an unknown command or option, a missing one, a bad value, or a
 * `--password` flag. `env` gives what some commands default to (RX_SMTP_REDIS).
 *
 * @example
 * ```ts
 * parseCommandLine(['probe', 'smtp://localhost:2525']); // { command: 'probe', server: 'smtp://localhost:2525', verbose: false }
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
  if (values['password-file'] !== undefined && values.user === undefined) throw new UsageError('--password-file needs --user');
  if (values.count !== undefined && values.mails !== undefined) throw new UsageError('--count and --mails cannot be combined');
  if (values.mails === undefined) {
    required(values.from, '--from');
    required(values.to, '--to');
  }
  const command: SendCommand = { command: 'send', server, to: values.to ?? [], verbose: values.verbose === true, ...common(values) };
  for (const key of ['user', 'from', 'subject', 'body', 'mails'] as const) {
    if (values[key] !== undefined) command[key] = values[key];
  }
  if (values['password-file'] !== undefined) command.passwordFile = values['password-file'];
  if (values.count !== undefined) command.count = integer(values.count, '--count', MAX_COUNT);
  return command;
}

function parseProbe(args: string[]): Command {
  const { values, positionals } = parse(args, COMMON, true);
  if (values.help === true) return { command: 'help' };
  if (positionals.length !== 1) throw new UsageError('probe takes exactly one server, e.g. rx-smtp probe smtp://mail.example.com:587');
  return { command: 'probe', server: positionals[0]!, verbose: values.verbose === true, ...common(values) };
}
