import type { ParseArgsConfig } from 'node:util';
import { CONNECTION, type ConnectionCommand, MESSAGE, type MessageCommand, connection, message, parse, required } from './flags';
import { UsageError } from './usage';
import { integer } from './values';

/** Where an `rx-smtp outbox` command finds its queue. */
export interface OutboxTarget {
  /** The Redis URL: `--redis`, else RX_SMTP_REDIS, else redis://127.0.0.1:6379. */
  redis: string;
  /** The queue's name (`--queue`, default `rx-smtp`). */
  queue: string;
}

/** `rx-smtp outbox add`: one mail (or `--count` copies, or a `--mails` file) into the outbox, built as `send` builds it. */
export interface OutboxAddCommand extends OutboxTarget, MessageCommand {
  command: 'outbox-add';
  /** The job id, for a producer that may run again: adding it twice makes one job. */
  id?: string;
}

/** `rx-smtp outbox work`: a worker in this process, with progress, until stopped (or the queue is empty). */
export interface OutboxWorkCommand extends OutboxTarget, ConnectionCommand {
  command: 'outbox-work';
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

/** A queue nobody named: one outbox per Redis database is the common case. */
export const DEFAULT_QUEUE = 'rx-smtp';
const DEFAULT_REDIS = 'redis://127.0.0.1:6379';
/** More connections than this from one worker is a typo, not a pool. */
const MAX_CONNECTIONS = 1000;
/** More jobs than this held by one worker is a typo: each is a mail in memory and a lock to renew. */
const MAX_CONCURRENCY = 10_000;

const TARGET = { redis: { type: 'string' }, queue: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const satisfies ParseArgsConfig['options'];
const ADD = { ...TARGET, ...MESSAGE, id: { type: 'string' } } as const satisfies ParseArgsConfig['options'];
// No --verbose: the pool is the outbox's own, its transcript not shown.
const { verbose: _verbose, ...WORK_CONNECTION } = CONNECTION;
const WORK = {
  ...TARGET,
  ...WORK_CONNECTION,
  server: { type: 'string' },
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
  if (values.id !== undefined && (values.count !== undefined || values.mails !== undefined)) throw new UsageError('--id names one mail: it cannot be combined with --count or --mails');
  const command: OutboxAddCommand = { command: 'outbox-add', ...target(values, env), ...message(values) };
  if (values.id !== undefined) command.id = values.id;
  return command;
}

function parseWork(args: string[], env: NodeJS.ProcessEnv): OutboxWorkCommand | undefined {
  const { values } = parse(args, WORK, false);
  if (values.help === true) return undefined;
  const command: OutboxWorkCommand = {
    command: 'outbox-work',
    ...target(values, env),
    ...connection(required(values.server, '--server'), values),
    untilEmpty: values['until-empty'] === true,
  };
  if (values.connections !== undefined) command.connections = integer(values.connections, '--connections', MAX_CONNECTIONS);
  if (values.concurrency !== undefined) command.concurrency = integer(values.concurrency, '--concurrency', MAX_CONCURRENCY);
  return command;
}

function target(values: { redis?: string; queue?: string }, env: NodeJS.ProcessEnv): OutboxTarget {
  const fromEnv = env.RX_SMTP_REDIS !== undefined && env.RX_SMTP_REDIS !== '' ? env.RX_SMTP_REDIS : undefined;
  if (values.redis !== undefined && /^rediss?:\/\/[^/@]*:[^/@]*@/.test(values.redis)) {
    throw new UsageError('--redis must not hold a password: it lands in shell history and in ps output; put the URL in RX_SMTP_REDIS');
  }
  return { redis: values.redis ?? fromEnv ?? DEFAULT_REDIS, queue: values.queue ?? DEFAULT_QUEUE };
}
