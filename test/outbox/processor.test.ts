import type { Job } from 'bullmq';
import { expect } from 'chai';
import { EMPTY } from 'rxjs';
import type { SmtpPool } from '../../lib/pool';
import type { OutboxJobData } from '../../lib/outbox/job-data';
import type { Claim, Ledger } from '../../lib/outbox/ledger';
import type { OutboxOutcome } from '../../lib/outbox/outcome';
import { outboxProcessor } from '../../lib/outbox/processor';

/** A ledger that answers as told, and a pool that records whether anything was given to it. */
function fakes(claim: Claim, marked: boolean): { ledger: Ledger; pool: SmtpPool; given: () => number; outcomes: OutboxOutcome[] } {
  let given = 0;
  const ledger = { claim: async () => claim, mark: async () => marked } as unknown as Ledger;
  const pool = {
    sendAll: () => {
      given++;
      return EMPTY;
    },
  } as unknown as SmtpPool;
  return { ledger, pool, given: () => given, outcomes: [] };
}

const job = { id: 'j1', data: { from: 'a@example.test', to: ['b@example.test'], body: 'hi', encoding: 'utf8' }, attemptsMade: 0, opts: { attempts: 3 } } as unknown as Job<
  OutboxJobData
>;

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => new Error('expected a failure'),
    (err: Error) => err,
  );
}

// The worker that holds a job decides alone: these cases never reach the pool, whatever happens next.
describe('outbox processor', () => {
  it('sends nothing when its lock is gone at the mark (another worker has the job)', async () => {
    const f = fakes({ kind: 'fresh' }, false);
    const process = outboxProcessor({ ledger: f.ledger, pool: f.pool, workerName: 'w', record: (_job, o) => f.outcomes.push(o) });
    const error = await failure(process(job, 'token'));
    expect(error.name).to.equal('LockLost');
    expect(f.given()).to.equal(0);
    expect(f.outcomes).to.deep.equal([]);
  });

  it('sends nothing when its lock is already gone as it claims the job', async () => {
    const f = fakes({ kind: 'lost' }, true);
    const process = outboxProcessor({ ledger: f.ledger, pool: f.pool, workerName: 'w', record: (_job, o) => f.outcomes.push(o) });
    expect((await failure(process(job, 'token'))).name).to.equal('LockLost');
    expect(f.given()).to.equal(0);
  });

  it('sends nothing for a job an operator resolved as delivered: it completes', async () => {
    const f = fakes({ kind: 'resolved' }, true);
    const process = outboxProcessor({ ledger: f.ledger, pool: f.pool, workerName: 'w', record: (_job, o) => f.outcomes.push(o) });
    expect(await process(job, 'token')).to.deep.include({ resolved: true, accepted: ['b@example.test'] });
    expect(f.given()).to.equal(0);
    expect(f.outcomes.map((o) => o.fate)).to.deep.equal(['delivered']);
  });
});
