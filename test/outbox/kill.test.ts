import { expect } from 'chai';
import { type SharedServer, startPostfix } from '../fixtures/postfix';
import { type RedisFixture, startRedis } from '../fixtures/redis';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { type KillReport, runKillScenario } from './kill-run';
import { postfixStore, smtpServerStore } from './stores';

// The kill test, short: three worker processes, one of them killed with SIGKILL at random points
// and restarted, Redis restarted once; the server's store judges (see kill-run.ts). `npm run soak`
// runs it with 10,000 mails. KILL_SEED replays the random points (the processes' timing still varies).

const SEED = Number(process.env.KILL_SEED) || 20_240_601;

function expectKept(report: KillReport): void {
  // One line per run, for the figures: mails, kills, delivered, uncertain, duplicates.
  console.log(`      ${JSON.stringify({ ...report, violations: report.violations.length })}`);
  expect(report.violations, `seed ${report.seed}`).to.deep.equal([]);
  expect(report.delivered + report.uncertain).to.equal(report.mails);
  expect(report.duplicates).to.equal(0);
  expect(report.uncertain).to.be.at.most(report.markedAtKills);
}

describe('outbox: kill -9 (short)', function () {
  this.timeout(180_000);
  let redis: RedisFixture | null = null;
  before(async function () {
    redis = await startRedis();
    if (redis === null) this.skip();
  });
  after(() => redis?.stop());

  describe('to smtp-server', () => {
    let server: SmtpServerFixture;
    before(async () => (server = await startSmtpServer()));
    after(() => server.close());

    it('3 workers × 300 mails, one worker killed 3 times, Redis restarted once: each mail once or uncertain', async () => {
      expectKept(await runKillScenario({ redis: redis!, store: smtpServerStore(server), mails: 300, workers: 3, kills: 3, redisRestarts: 1, seed: SEED }));
    });
  });

  describe('to Postfix', () => {
    let postfix: SharedServer | null = null;
    before(async function () {
      postfix = await startPostfix();
      if (postfix === null) this.skip();
    });
    after(() => postfix?.stop());

    it('3 workers × 200 mails, one worker killed 2 times: each mail once or uncertain', async () => {
      expectKept(await runKillScenario({ redis: redis!, store: postfixStore(postfix!), mails: 200, workers: 3, kills: 2, redisRestarts: 0, seed: SEED + 1 }));
    });
  });
});
