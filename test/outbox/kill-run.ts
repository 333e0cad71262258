import { Queue } from 'bullmq';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { Ledger } from '../../lib/outbox/ledger';
import { type Outbox, type OutboxCounts, createOutbox } from '../../lib/outbox';
import type { RedisFixture } from '../fixtures/redis';
import { random } from '../fixtures/random';
import { type MailStore, idHeader } from './stores';
import { WorkerProcesses } from './workers';

/**
 * The kill test: worker processes send an outbox's mails to a real server while one of them is
 * killed with SIGKILL at random points (and restarted), and Redis itself may be restarted. The
 * server's store is the judge: every mail stored exactly once or listed uncertain, the uncertain
 * ones only among the mails that were past their mark at a kill, none lost, none twice.
 *
 * @example
 * ```ts
 * const report = await runKillScenario({ redis, store, mails: 300, workers: 3, kills: 3, redisRestarts: 0, seed: 1 });
 * expect(report.violations).to.deep.equal([]);
 * ```
 */

export interface KillScenario {
  redis: RedisFixture;
  store: MailStore;
  mails: number;
  workers: number;
  /** SIGKILLs of worker 0 (restarted each time), at random points of the run. */
  kills: number;
  /** Restarts of Redis, at random points of the run. */
  redisRestarts: number;
  seed: number;
  /** Lock duration of the workers: a killed worker's jobs go to others within 1.5 × this. */
  lockMs?: number;
  /** Connections of each worker's pool. */
  maxConnections?: number;
  /** How long the run may take before it counts as stuck. */
  deadlineMs?: number;
  log?: (line: string) => void;
}

/** What a run did, and every broken promise in `violations`. */
export interface KillReport {
  seed: number;
  mails: number;
  kills: number;
  redisRestarts: number;
  delivered: number;
  uncertain: number;
  /** Of the uncertain mails, those the server did store (their reply or completion was lost). */
  uncertainStored: number;
  failed: number;
  duplicates: number;
  lost: number;
  /** Mails past their mark (marked in an unfinished attempt) at the kills and restarts: the bound on `uncertain`. */
  markedAtKills: number;
  seconds: number;
  violations: string[];
}

/** Three seconds of lock: well above any event-loop stall of a busy two-core machine, short enough for a test. */
const DEFAULT_LOCK_MS = 3_000;
/** A short run that has not finished in two minutes is stuck. */
const DEFAULT_DEADLINE_MS = 120_000;
/** How often the run looks at the counts to decide when to kill. */
const COUNTS_INTERVAL_MS = 20;
/** Adds in flight at once while the producer fills the queue. */
const ADD_BATCH = 50;

/** Runs one scenario to its end and judges it. */
export async function runKillScenario(scenario: KillScenario): Promise<KillReport> {
  const started = Date.now();
  const rng = random(scenario.seed);
  const name = `kill-${scenario.seed}-${Math.floor(rng() * 1e9)}`;
  const connection = scenario.redis.connection;
  const outbox = createOutbox({ connection, name, countsIntervalMs: COUNTS_INTERVAL_MS, retry: { attempts: 5, delayMs: 100, maxDelayMs: 1_000 } });
  const queue = new Queue(name, { connection });
  queue.on('error', () => {});
  const ledger = new Ledger(() => queue.getBackend().client, (type) => queue.toKey(type));
  const workers = new WorkerProcesses({
    redisPort: scenario.redis.port,
    name,
    smtpPort: scenario.store.port,
    lockMs: scenario.lockMs ?? DEFAULT_LOCK_MS,
    maxConnections: scenario.maxConnections ?? 4,
  });
  const marked = new Set<string>();
  const markedNow = async (): Promise<void> => {
    const active = await queue.getActive(0, -1);
    for (const id of await ledger.markedNow(active.map((job) => job.id!))) marked.add(id);
  };
  try {
    await workers.start(scenario.workers);
    scenario.log?.('workers ready');
    const ids = await addAll(outbox, scenario.mails, rng);
    scenario.log?.('added');
    await disrupt(scenario, outbox, workers, markedNow, rng);
    scenario.log?.('disrupted');
    await firstValueFrom(
      outbox.counts$.pipe(
        filter((c) => c.waiting + c.active + c.delayed === 0 && c.delivered + c.failed + c.uncertain === scenario.mails),
        timeout(scenario.deadlineMs ?? DEFAULT_DEADLINE_MS),
      ),
    );
    scenario.log?.('finished');
    await workers.stopAll();
    scenario.log?.('stopped');
    // Postfix's pipe delivery (tens of ms a mail) may still be storing what it accepted.
    await scenario.store.settled(scenario.deadlineMs ?? DEFAULT_DEADLINE_MS);
    scenario.log?.('settled');
    const report = await judge(scenario, ids, outbox, queue, marked);
    return { ...report, seconds: (Date.now() - started) / 1000 };
  } finally {
    await workers.stopAll();
    await outbox.close();
    await queue.close();
  }
}

/** Adds every mail, and adds a tenth of them again (a producer that retries): each must stay one job. */
async function addAll(outbox: Outbox, count: number, rng: () => number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `m${i}`);
  const retried = ids.filter(() => rng() < 0.1);
  const adds = [...ids, ...retried];
  for (let i = 0; i < adds.length; i += ADD_BATCH) {
    await Promise.all(adds.slice(i, i + ADD_BATCH).map((id) => outbox.add(testMail(id), { id })));
  }
  return ids;
}

function testMail(id: string): { from: string; to: string; body: string } {
  return { from: 'outbox@example.test', to: `${id}@example.test`, body: `${idHeader(id)}Subject: ${id}\r\n\r\nmail ${id}\r\n` };
}

/**
 * Kills worker 0 and restarts Redis at random points: each when the finished mails pass a random
 * fraction of the run. Before each, and after each, the mails past their mark are noted.
 */
async function disrupt(
  scenario: KillScenario,
  outbox: Outbox,
  workers: WorkerProcesses,
  markedNow: () => Promise<void>,
  rng: () => number,
): Promise<void> {
  const events = [
    ...Array.from({ length: scenario.kills }, () => ({ kind: 'kill' as const, at: 0.1 + 0.8 * rng() })),
    ...Array.from({ length: scenario.redisRestarts }, () => ({ kind: 'redis' as const, at: 0.1 + 0.8 * rng() })),
  ].sort((a, b) => a.at - b.at);
  for (const event of events) {
    const threshold = Math.floor(event.at * scenario.mails);
    await firstValueFrom(outbox.counts$.pipe(filter((c) => finished(c) >= threshold)));
    if (event.kind === 'kill') {
      await workers.kill(0);
      // Read at once: the killed worker's jobs stay active until their locks expire.
      await markedNow();
      scenario.log?.(`killed worker 0 at ${threshold}/${scenario.mails}`);
      await workers.restart(0);
    } else {
      await markedNow();
      await scenario.redis.restart();
      await markedNow();
      scenario.log?.(`restarted Redis at ${threshold}/${scenario.mails}`);
    }
  }
}

function finished(c: OutboxCounts): number {
  return c.delivered + c.failed + c.uncertain;
}

async function judge(scenario: KillScenario, ids: string[], outbox: Outbox, queue: Queue, marked: Set<string>): Promise<Omit<KillReport, 'seconds'>> {
  const copies = scenario.store.copies();
  const uncertain = new Set((await outbox.uncertain()).map((u) => u.id));
  const violations: string[] = [];
  let delivered = 0;
  let failed = 0;
  let lost = 0;
  let uncertainStored = 0;
  for (const id of ids) {
    const stored = copies.get(id) ?? 0;
    const state = await queue.getJobState(id);
    if (uncertain.has(id)) {
      if (stored === 1) uncertainStored++;
      if (!marked.has(id)) violations.push(`${id} is uncertain but was not past its mark at any kill`);
    } else if (state === 'completed') {
      delivered++;
      if (stored !== 1) violations.push(`${id} is delivered and stored ${stored} times`);
    } else {
      if (state === 'failed') failed++;
      else lost++;
      violations.push(`${id} ended ${state}, stored ${stored} times`);
    }
  }
  const duplicates = [...copies.values()].filter((n) => n > 1).length;
  if (duplicates > 0) violations.push(`${duplicates} mails stored more than once`);
  const known = new Set(ids);
  const strangers = [...copies.keys()].filter((id) => !known.has(id));
  if (strangers.length > 0) violations.push(`the server stored mails of no job: ${strangers.join(', ')}`);
  return {
    seed: scenario.seed,
    mails: scenario.mails,
    kills: scenario.kills,
    redisRestarts: scenario.redisRestarts,
    delivered,
    uncertain: uncertain.size,
    uncertainStored,
    failed,
    duplicates,
    lost,
    markedAtKills: marked.size,
    violations,
  };
}

