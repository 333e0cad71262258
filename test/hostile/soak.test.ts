import { expect } from 'chai';
import * as sinon from 'sinon';
import { activeHandles, expectNoLeaks, type HandleCounts } from '../fixtures/handles';
import { runSoak } from './soak-run';

// The soak, short (SOAK_SESSIONS, default 200) and under fake timers, so that stalls cost no real
// time: every mail has exactly one outcome, what the client calls delivered is what the server
// accepted, and no socket or timer is left. `npm run soak` runs 10 000 sessions in real time.

const SESSIONS = Number(process.env.SOAK_SESSIONS) || 200;

describe('hostile: soak (short)', function () {
  this.timeout(60_000);
  let clock: sinon.SinonFakeTimers;
  let baseline: HandleCounts;
  beforeEach((done) => {
    baseline = activeHandles();
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    done();
  });
  afterEach(() => clock.restore());

  it(`${SESSIONS} sessions against random faults: every mail accounted for once, nothing left running`, async () => {
    const seed = Number(process.env.SOAK_SEED) || 20_240_101;
    const report = await runSoak({ sessions: SESSIONS, concurrency: 20, maxMails: 4, faultRate: 0.5, seed, timeout: 30_000, clock });
    expect(report.violations, `seed ${seed}`).to.deep.equal([]);
    const { ok, failed, uncertain, notSent } = report.outcomes;
    expect(ok + failed + uncertain + notSent).to.equal(report.mails);
    expect(report.accepted).to.equal(ok + report.acceptedButUncertain);
    // The run is only worth something if the faults really happened and mails really went through.
    expect(Object.keys(report.faults).length).to.be.above(10);
    expect(ok).to.be.above(report.mails / 4);
    expect(clock.countTimers(), 'fake timers left').to.equal(0);
    await expectNoLeaks(baseline);
  });
});
