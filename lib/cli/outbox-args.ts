import type { ParseArgsConfig } from 'node:util';
import type { TlsMode } from '../options';
import { COMMON, UsageError, common, integer, parse, required } from './parse';

/** Where an `rx-smtp outbox` command finds its queue. */
export interface OutboxTarget {
  /** The Redis URL: `--redis`, else RX_SMTP_REDIS, else redis://127.0.0.1:6379. */
  redis: string;
  /** The queue's name (`--queue`, default `rx-smtp`). */
  queue: string;
}

/** `rx-smtp outbox add`: one mail (or `--count` copies, or a `--mails` file) into the outbox. */
export interface OutboxAddCommand extends OutboxTarget {
  command: 'outbox-add';
  from?: string;
  to: string[];
  subject?: string;
  body?: string;
  /** The job id, for a producer that may run again: adding it twice makes one job. */
  id?: string;
  count?: number;
  mails?: string;
}

/** `rx-smtp outbox work`: a worker in this process, with progress, until stopped (or the queue is empty). */
export interface OutboxWorkCommand extends OutboxTarget {
  command: 'outbox-work';
  server: string;
  user?: string;
  passwordFile?: string;
  tls?: TlsMode;
  ca?: string;
  timeout?: number;
  /** The pool's connections. */
  connections?: number;
  /** Jobs held at once (default: connections × 2). */
  concurrency?: number;
  /** Stop once nothing is waiting, active or delayed. */
  untilEmpty: boolean;
}

/** `rx-smtp outbox status`: the counts. */
export interface OutboxStatusCommand extends OutboxTarget {
  command: 'outbox-status';
}

/** `rx-smtp outbox uncertain`: the uncertain mails, and resolving them. */
export interface OutboxUncertainCommand extends OutboxTarget {
  command: 'outbox-uncertain';
  /** Ids to resolve as delivered. */
  delivered: string[];
  /** Ids to send again. */
  retry: string[];
}

/** A parsed `rx-smtp outbox ...` command line. */
export type OutboxCommand = OutboxAddCommand | OutboxWorkCommand | OutboxStatusCommand | OutboxUncertainCommand;

/** The usage lines of `rx-smtp outbox`, for the CLI's help. */
export const OUTBOX_USAGE = `outbox (a durable queue on Redis, several workers; see the README's "Scaling out"):
  rx-smtp outbox add --from A --to B [--subject S] [--body FILE|-] [--id ID | --count N | --mails FILE.jsonl]
  rx-smtp outbox work --server URL [--user NAME] [--connections N] [--concurrency N] [--until-empty]
  rx-smtp outbox status
  rx-smtp outbox uncertain [--delivered ID]... [--retry ID]...
  every outbox command takes --redis redis://host:6379[/db] (default: RX_SMTP_REDIS, else
  redis://127.0.0.1:6379; put a password in RX_SMTP_REDIS, never on the command line) and
  --queue NAME (default rx-smtp)
`;

/** A queue nobody named: one outbox per Redis database is the common case. */
export const DEFAULT_QUEUE = 'rx-smtp';
const DEFAULT_REDIS = 'redis://127.0.0.1:6379';
/** A --count beyond this is a typo, not a batch. */
const MAX_COUNT = 10_000_000;

const TARGET = { redis: { type: 'string' }, queue: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const satisfies ParseArgsConfig['options'];
const ADD = {
  ...TARGET,
  from: { type: 'string' },
  to: { type: 'string', multiple: true },
  subject: { type: 'string' },
  body: { type: 'string' },
  id: { type: 'string' },
  count: { type: 'string' },
  mails: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];
const WORK = {
  ...TARGET,
  tls: COMMON.tls,
  ca: COMMON.ca,
  timeout: COMMON.timeout,
  server: { type: 'string' },
  user: { type: 'string' },
  'password-file': { type: 'string' },
  connections: { type: 'string' },
  concurrency: { type: 'string' },
  'until-empty': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];
const UNCERTAIN = { ...TARGET, delivered: { type: 'string', multiple: true }, retry: { type: 'string', multiple: true } } as const satisfies ParseArgsConfig['options'];

/**
 * Parses the arguments after `rx-smtp outbox`. Throws {@link UsageError} for anything that cannot run.
 * Returns `undefined` for `--help`.
 *
 * @example
 * ```ts
 * parseOutbox(['status', '--queue', 'news'], {}); // { command: 'outbox-status', redis: 'redis://127.0.0.1:6379', queue: 'news' }
 * ```
 */
export function parseOutbox(args: readonly string[], env: NodeJS.ProcessEnv): OutboxCommand | undefined {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'add':
      return parseAdd(rest, env);
    case 'work':
      return parseWork(rest, env);
    case 'status': {
      const { values } = parse(rest, TARGET, false);
      return values.help === true ? undefined : { command: 'outbox-status', ...target(values, env) };
    }
    case 'uncertain': {
      const { values } = parse(rest, UNCERTAIN, false);
      if (values.help === true) return undefined;
      return { command: 'outbox-uncertain', ...target(values, env), delivered: values.delivered ?? [], retry: values.retry ?? [] };
    }
    case undefined:
      throw new UsageError('outbox needs a command: add, work, status or uncertain');
    default:
      throw new UsageError(`unknown outbox command ${JSON.stringify(sub)} (add, work, status or uncertain)`);
  }
}

function parseAdd(args: string[], env: NodeJS.ProcessEnv): OutboxAddCommand | undefined {
  const { values } = parse(args, ADD, false);
  if (values.help === true) return undefined;
  const given = [values.id, values.count, values.mails].filter((v) => v !== undefined).length;
  if (given > 1) throw new UsageError('--id, --count and --mails cannot be combined');
  if (values.mails === undefined) {
    required(values.from, '--from');
    required(values.to, '--to');
  }
  const command: OutboxAddCommand = { command: 'outbox-add', ...target(values, env), to: values.to ?? [] };
  for (const key of ['from', 'subject', 'body', 'id', 'mails'] as const) if (values[key] !== undefined) command[key] = values[key];
  if (values.count !== undefined) command.count = integer(values.count, '--count', MAX_COUNT);
  return command;
}

function parseWork(args: string[], env: NodeJS.ProcessEnv): OutboxWorkCommand | undefined {
  const { values } = parse(args, WORK, false);
  if (values.help === true) return undefined;
  if (values['password-file'] !== undefined && values.user === undefined) throw new UsageError('--password-file needs --user');
  const command: OutboxWorkCommand = {
    command: 'outbox-work',
    ...target(values, env),
    server: required(values.server, '--server'),
    untilEmpty: values['until-empty'] === true,
    ...common(values),
  };
  if (values.user !== undefined) command.user = values.user;
  if (values['password-file'] !== undefined) command.passwordFile = values['password-file'];
  if (values.connections !== undefined) command.connections = integer(values.connections, '--connections', 1000);
  if (values.concurrency !== undefined) command.concurrency = integer(values.concurrency, '--concurrency', 10_000);
  return command;
}

function target(values: { redis?: string; queue?: string }, env: NodeJS.ProcessEnv): OutboxTarget {
  const fromEnv = env.RX_SMTP_REDIS !== undefined && env.RX_SMTP_REDIS !== '' ? env.RX_SMTP_REDIS : undefined;
  if (values.redis !== undefined && /^rediss?:\/\/[^/@]*:[^/@]*@/.test(values.redis)) {
    throw new UsageError('--redis must not hold a password: it lands in shell history and in ps output; put the URL in RX_SMTP_REDIS');
  }
  return { redis: values.redis ?? fromEnv ?? DEFAULT_REDIS, queue: values.queue ?? DEFAULT_QUEUE };
}
