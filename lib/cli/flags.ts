import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { TlsMode } from '../options';
import { UsageError } from './usage';
import { checkAddresses, duration, header, integer } from './values';

/**
 * The flags that several commands share, and their checks: how to reach the server (`send`,
 * `probe`, `outbox work`) and what the message is (`send`, `outbox add`).
 */

/** How to reach and greet the server, and as whom: what `send` and `probe` share. */
export interface ConnectionCommand {
  /** A URL (`smtp://host:port`, `smtps://host`) or a bare host. */
  server: string;
  /** `--port`, over the URL's. */
  port?: number;
  /** `-4` or `-6`: only that address family. */
  family?: 4 | 6;
  tls?: TlsMode;
  ca?: string;
  /** `--insecure`: no certificate verification. */
  insecure: boolean;
  /** Milliseconds to wait for each reply. */
  timeout?: number;
  /** The EHLO name. */
  ehlo?: string;
  /** `--protocol lmtp`. */
  lmtp: boolean;
  user?: string;
  passwordFile?: string;
  /** `--auth`: the one SASL mechanism to use. */
  auth?: string;
  allowInsecureAuth: boolean;
  verbose: boolean;
}

/** The message (or messages) a command sends or enqueues. Paths are as given; nothing is read here. */
export interface MessageCommand {
  from?: string;
  /** As given: each may be a comma-separated list, with names. */
  to: string[];
  subject?: string;
  /** `--body`: the text itself, `@FILE`, or `-` for standard input. */
  body?: string;
  /** `--header`s, in order. */
  headers: [string, string][];
  /** `--attach`ed files, in order. */
  attach: string[];
  /** `--data`: a file (or `-`) holding the whole message, sent as it is. */
  data?: string;
  /** This many copies. */
  count?: number;
  /** One mail per line of this JSON Lines file. */
  mails?: string;
}

const TLS_MODES: readonly TlsMode[] = ['starttls', 'starttls-required', 'implicit', 'none'];
/** A --count beyond this is a typo, not a test run. */
const MAX_COUNT = 10_000_000;
const MAX_PORT = 65_535;

/** The flags of {@link ConnectionCommand}. */
export const CONNECTION = {
  port: { type: 'string' },
  ipv4: { type: 'boolean', short: '4' },
  ipv6: { type: 'boolean', short: '6' },
  tls: { type: 'string' },
  ca: { type: 'string' },
  insecure: { type: 'boolean' },
  timeout: { type: 'string' },
  ehlo: { type: 'string' },
  protocol: { type: 'string' },
  user: { type: 'string' },
  'password-file': { type: 'string' },
  auth: { type: 'string' },
  'allow-insecure-auth': { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** The flags of {@link MessageCommand}. */
export const MESSAGE = {
  from: { type: 'string' },
  to: { type: 'string', multiple: true },
  subject: { type: 'string' },
  body: { type: 'string' },
  header: { type: 'string', multiple: true },
  attach: { type: 'string', multiple: true },
  data: { type: 'string' },
  count: { type: 'string' },
  mails: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type ConnectionValues = ReturnType<typeof parse<typeof CONNECTION>>['values'];
type MessageValues = ReturnType<typeof parse<typeof MESSAGE>>['values'];

/**
 * node:util's `parseArgs`, strict; its errors as {@link UsageError}.
 *
 * @example
 * ```ts
 * const { values } = parse(['--port', '2525'], CONNECTION, false);
 * ```
 */
export function parse<T extends ParseArgsConfig['options']>(
  args: string[],
  options: T,
  allowPositionals: boolean,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    // parseArgs's own messages are clear ("Unknown option '--frm'"); they only need the right type.
    throw new UsageError((err as Error).message);
  }
}

/**
 * The options `send` and `probe` share, checked: each alone, and how they go together.
 *
 * @example
 * ```ts
 * connection('smtp://localhost:2525', parse(['--tls', 'none'], CONNECTION, false).values); // { server, tls: 'none', ... }
 * ```
 */
export function connection(server: string, values: ConnectionValues): ConnectionCommand {
  const out: ConnectionCommand = {
    server,
    insecure: values.insecure === true,
    lmtp: protocol(values.protocol),
    allowInsecureAuth: values['allow-insecure-auth'] === true,
    verbose: values.verbose === true,
  };
  if (values.ipv4 === true && values.ipv6 === true) throw new UsageError('-4 and -6 cannot be combined');
  if (values.ipv4 === true || values.ipv6 === true) out.family = values.ipv4 === true ? 4 : 6;
  if (values.port !== undefined) out.port = integer(values.port, '--port', MAX_PORT);
  if (values.tls !== undefined) {
    if (!TLS_MODES.includes(values.tls as TlsMode)) throw new UsageError(`--tls must be one of ${TLS_MODES.join(', ')}`);
    out.tls = values.tls as TlsMode;
  }
  if (values.insecure === true && values.ca !== undefined) throw new UsageError('--insecure and --ca cannot be combined: --ca is for verifying');
  if (values.ca !== undefined) out.ca = values.ca;
  if (values.timeout !== undefined) out.timeout = duration(values.timeout, '--timeout');
  if (values.ehlo !== undefined) out.ehlo = values.ehlo;
  for (const flag of ['password-file', 'auth', 'allow-insecure-auth'] as const) {
    if (values[flag] !== undefined && values.user === undefined) throw new UsageError(`--${flag} needs --user`);
  }
  if (values.user !== undefined) out.user = values.user;
  if (values['password-file'] !== undefined) out.passwordFile = values['password-file'];
  if (values.auth !== undefined) out.auth = values.auth.toUpperCase();
  // The library would refuse at AUTH time with advice in its own terms; the CLI's terms are its flags.
  if (out.tls === 'none' && out.user !== undefined && !out.allowInsecureAuth) {
    throw new UsageError('--user with --tls none would send the password in clear text: add --allow-insecure-auth to allow it (a test server), or use TLS');
  }
  return out;
}

/**
 * The message flags, checked: each alone (addresses, the subject, headers), and how they go
 * together (`--data` sends a message as it is; `--count` and `--mails` are two ways of many).
 *
 * @example
 * ```ts
 * message(parse(['--from', 'a@example.com', '--to', 'b@example.com'], MESSAGE, false).values); // { from, to, headers: [], attach: [] }
 * ```
 */
export function message(values: MessageValues): MessageCommand {
  if (values.count !== undefined && values.mails !== undefined) throw new UsageError('--count and --mails cannot be combined');
  const composing = (['subject', 'body', 'header', 'attach'] as const).filter((key) => values[key] !== undefined);
  if (values.data !== undefined && composing.length > 0) throw new UsageError(`--data sends a message as it is: it cannot be combined with --${composing.join(', --')}`);
  if (values.data !== undefined && values.mails !== undefined) throw new UsageError('--data and --mails cannot be combined');
  if (values.mails === undefined) {
    required(values.from, '--from');
    required(values.to, '--to');
  }
  const to = values.to ?? [];
  checkAddresses(values.from, to);
  if (values.subject !== undefined && /[\r\n\0]/.test(values.subject)) throw new UsageError('--subject must not contain a line break or NUL');
  const out: MessageCommand = { to, headers: (values.header ?? []).map(header), attach: values.attach ?? [] };
  for (const key of ['from', 'subject', 'body', 'data', 'mails'] as const) {
    if (values[key] !== undefined) out[key] = values[key];
  }
  if (values.count !== undefined) out.count = integer(values.count, '--count', MAX_COUNT);
  return out;
}

/**
 * The value of a flag that must be given.
 *
 * @example
 * ```ts
 * const server = required(values.server, '--server');
 * ```
 */
export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(`${flag} is required`);
  return value;
}

function protocol(value: string | undefined): boolean {
  if (value === undefined || value === 'smtp' || value === 'esmtp') return false;
  if (value === 'lmtp') return true;
  throw new UsageError('--protocol must be smtp or lmtp');
}
