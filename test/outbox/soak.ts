import { startPostfix } from '../fixtures/postfix';
import { startRedis } from '../fixtures/redis';
import { startSmtpServer } from '../fixtures/smtp-server';
import { type KillReport, type KillScenario, runKillScenario } from './kill-run';
import { type MailStore, postfixStore, smtpServerStore } from './stores';

/**
 * `npm run soak` (after the hostile soak): the outbox's kill test, long. Three worker processes
 * send OUTBOX_SOAK_MAILS mails (default 10,000) to smtp-server, then to Postfix, while one of them
 * is killed with SIGKILL OUTBOX_SOAK_KILLS times (default 10) and Redis is restarted twice; the
 * server's store judges. KILL_SEED replays the random points. Exits 1 on any broken promise.
 */

const MAILS = Number(process.env.OUTBOX_SOAK_MAILS) || 10_000;
const KILLS = Number(process.env.OUTBOX_SOAK_KILLS) || 10;
const SEED = Number(process.env.KILL_SEED) || Date.now() % 1_000_000;
/** Postfix's pipe delivery in the shared setup stores about 20 mails a second: 10,000 take minutes. */
const DEADLINE_MS = 60 * 60_000;

async function run(label: string, store: MailStore, scenario: Omit<KillScenario, 'store'>): Promise<KillReport> {
  console.log(`outbox soak, ${label}: ${scenario.mails} mails, ${scenario.workers} workers, ${scenario.kills} kills, ${scenario.redisRestarts} Redis restarts, seed ${scenario.seed}`);
  const report = await runKillScenario({ ...scenario, store, log: (line) => console.log(`  ${line}`) });
  console.log(JSON.stringify({ ...report, violations: report.violations.slice(0, 20) }, null, 2));
  return report;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  if (redis === null) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const reports: KillReport[] = [];
  try {
    const common = { redis, mails: MAILS, workers: 3, kills: KILLS, redisRestarts: 2, deadlineMs: DEADLINE_MS };
    const server = await startSmtpServer();
    try {
      reports.push(await run('smtp-server', smtpServerStore(server), { ...common, seed: SEED }));
    } finally {
      await server.close();
    }
    const postfix = await startPostfix();
    if (postfix === null) console.log('outbox soak, Postfix: skipped (Postfix cannot run here)');
    else {
      try {
        reports.push(await run('Postfix', postfixStore(postfix), { ...common, seed: SEED + 1 }));
      } finally {
        await postfix.stop();
      }
    }
  } finally {
    await redis.stop();
  }
  process.exitCode = reports.every((r) => r.violations.length === 0) ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
