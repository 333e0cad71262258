import type { RedisClient } from 'bullmq';

/**
 * The outbox's own records in Redis, beside BullMQ's: the crash mark in each job's hash, and the
 * set of uncertain mails. Every decision that must agree with the job's lock is one Lua script,
 * so Redis runs it whole, with no other command between its check of the lock and its write.
 *
 * BullMQ keeps a job in the hash `<prefix>:<queue>:<id>`, its lock in `<id>:lock` (a random token
 * per attempt, set when a worker takes the job, renewed while it works, gone when it stops), and
 * counts finished attempts in the hash field `atm`; a stalled job (lock gone, worker dead) goes
 * back to waiting with `atm` unchanged, a job failed for a retry gets `atm + 1` in the same script
 * that moves it. The mark records `atm`: a mark equal to the job's current `atm` was made in an
 * attempt that never finished.
 */

/** The hash field of the mark: the job's `atm` when its worker was about to write the end of data. */
const MARK = 'rx-smtp:mark';
/** Who marked and when, the last thing known of an attempt cut short. */
const MARK_NOTE = 'rx-smtp:mark-note';
/** Set by `resolve(id, 'delivered')`: the next worker completes the job without sending it. */
const RESOLVED = 'rx-smtp:resolved';
/** The uncertain set, a hash of job id → JSON {@link UncertainEntry}. Job ids cannot contain `:`. */
const UNCERTAIN = 'rx-smtp:uncertain';

/** What the uncertain set keeps of a mail. */
export interface UncertainEntry {
  /** When it became uncertain, ms since the epoch. */
  since: number;
  /** The last thing known of its transfer. */
  lastLine: string;
}

/**
 * What a worker that has just taken a job may do with it:
 * - `fresh`: send it;
 * - `uncertain`: an earlier attempt marked it and never finished (its worker stopped after the
 *   mark): it may have been delivered; it is now in the uncertain set and must not be sent;
 * - `resolved`: an operator said it was delivered: complete it without sending;
 * - `lost`: this worker's lock is gone (another worker has the job, or will): leave it alone.
 */
export type Claim = { kind: 'fresh' | 'resolved' | 'lost' } | { kind: 'uncertain'; lastLine: string };

// KEYS: job hash, job lock, uncertain set. ARGV: lock token, job id, now (ms), note if no mark note.
const CLAIM = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {'lost'} end
local f = redis.call('HMGET', KEYS[1], 'atm', '${MARK}', '${MARK_NOTE}', '${RESOLVED}')
if f[4] == 'delivered' then
  redis.call('HDEL', KEYS[3], ARGV[2])
  return {'resolved'}
end
if f[2] and f[2] == (f[1] or '0') then
  local line = f[3] or ARGV[4]
  if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0 then
    redis.call('HSET', KEYS[3], ARGV[2], cjson.encode({since = tonumber(ARGV[3]), lastLine = line}))
  end
  return {'uncertain', line}
end
redis.call('HDEL', KEYS[3], ARGV[2])
return {'fresh'}
`;

// KEYS: job hash, job lock. ARGV: lock token, note. 1 when marked, 0 when the lock is not ours.
const MARK_SCRIPT = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], '${MARK}', redis.call('HGET', KEYS[1], 'atm') or '0', '${MARK_NOTE}', ARGV[2])
return 1
`;

// KEYS: uncertain set, job hash. ARGV: job id, resolution. 1 when resolved, 0 when not uncertain,
// -1 when its job is gone (removed by hand): it is forgotten, and no hash is made for a job that
// is not there (BullMQ would take one for an existing job and refuse to add that id again).
const RESOLVE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return -1
end
redis.call('HDEL', KEYS[2], '${MARK}', '${MARK_NOTE}')
if ARGV[2] == 'delivered' then redis.call('HSET', KEYS[2], '${RESOLVED}', 'delivered') end
return 1
`;

// KEYS: uncertain set. ARGV: job id, entry. An earlier entry is kept: it says when the doubt began.
const RECORD = `redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])`;

// KEYS: uncertain set.
const COUNT = `return redis.call('HLEN', KEYS[1])`;

const SCRIPTS = {
  rxSmtpClaim: [3, CLAIM],
  rxSmtpMark: [2, MARK_SCRIPT],
  rxSmtpResolve: [2, RESOLVE],
  rxSmtpRecordUncertain: [1, RECORD],
  rxSmtpCountUncertain: [1, COUNT],
} as const;

/** Clients the scripts are defined on (ioredis keeps them per client and loads them by SHA). */
const defined = new WeakSet<object>();

/**
 * The outbox's records for one queue, through one Redis client (BullMQ's: a worker's, whose
 * commands wait through a Redis restart, or the producer's).
 *
 * @example
 * ```ts
 * const ledger = new Ledger(() => worker.getBackend().client, (type) => worker.toKey(type));
 * if (!(await ledger.mark(job.id!, token, 'worker-1'))) throw new Error('lock lost');
 * ```
 */
export class Ledger {
  constructor(
    /** Called at each use: a worker's backend exists only once the worker does. */
    private readonly client: () => Promise<RedisClient>,
    private readonly toKey: (type: string) => string,
  ) {}

  /** Decides what the worker holding `token` may do with the job it has just taken. */
  async claim(jobId: string, token: string, orphanNote: string): Promise<Claim> {
    const job = this.toKey(jobId);
    const [kind, line] = (await this.run('rxSmtpClaim', [job, `${job}:lock`, this.toKey(UNCERTAIN), token, jobId, Date.now(), orphanNote])) as [
      string,
      string?,
    ];
    if (kind === 'uncertain') return { kind, lastLine: line ?? orphanNote };
    if (kind === 'fresh' || kind === 'resolved' || kind === 'lost') return { kind };
    throw new Error(`unexpected claim ${kind}`);
  }

  /**
   * The crash mark: records, while the lock is still this worker's, that the end of data is about
   * to be written. False when the lock is gone: the mail must then not be sent.
   */
  async mark(jobId: string, token: string, note: string): Promise<boolean> {
    const job = this.toKey(jobId);
    return (await this.run('rxSmtpMark', [job, `${job}:lock`, token, note])) === 1;
  }

  /** Puts a job in the uncertain set (a connection that died after its end of data), keeping an earlier entry. */
  async recordUncertain(jobId: string, lastLine: string): Promise<void> {
    const entry: UncertainEntry = { since: Date.now(), lastLine };
    await this.run('rxSmtpRecordUncertain', [this.toKey(UNCERTAIN), jobId, JSON.stringify(entry)]);
  }

  /**
   * Marks an uncertain job for the next worker (`delivered`) or clears its mark (`retry`):
   * `resolved`; `not-uncertain` when it is not in the uncertain set; `gone` when its job no longer
   * exists (it is then taken out of the set).
   */
  async resolve(jobId: string, resolution: 'delivered' | 'retry'): Promise<'resolved' | 'not-uncertain' | 'gone'> {
    const answer = await this.run('rxSmtpResolve', [this.toKey(UNCERTAIN), this.toKey(jobId), jobId, resolution]);
    return answer === 1 ? 'resolved' : answer === -1 ? 'gone' : 'not-uncertain';
  }

  /** Takes a job out of the uncertain set. */
  async forget(jobId: string): Promise<void> {
    const client = await this.client();
    await client.hdel(this.toKey(UNCERTAIN), jobId);
  }

  /**
   * Of these jobs, those whose current attempt is marked: the ones a worker that stopped now
   * would leave uncertain (the kill tests check that no other job becomes uncertain).
   */
  async markedNow(jobIds: readonly string[]): Promise<string[]> {
    const client = await this.client();
    const fields = await Promise.all(jobIds.map((id) => client.hmget(this.toKey(id), 'atm', MARK)));
    return jobIds.filter((_, i) => {
      const [atm, mark] = fields[i]!;
      return mark !== null && mark !== undefined && mark === (atm ?? '0');
    });
  }

  /** Every uncertain job. */
  async uncertain(): Promise<Map<string, UncertainEntry>> {
    const client = await this.client();
    const raw = await client.hgetall(this.toKey(UNCERTAIN));
    return new Map(Object.entries(raw).map(([id, json]) => [id, JSON.parse(json) as UncertainEntry]));
  }

  /** How many jobs are uncertain. */
  async uncertainCount(): Promise<number> {
    return (await this.run('rxSmtpCountUncertain', [this.toKey(UNCERTAIN)])) as number;
  }

  private async run(name: keyof typeof SCRIPTS, args: (string | number)[]): Promise<unknown> {
    const client = await this.client();
    if (!defined.has(client)) {
      for (const [command, [numberOfKeys, lua]] of Object.entries(SCRIPTS)) client.defineCommand(command, { numberOfKeys, lua });
      defined.add(client);
    }
    return client.runCommand(name, args);
  }
}
