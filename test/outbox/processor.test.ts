import type { Job } from 'bullmq';
import { expect } from 'chai';
import { defer, from, lastValueFrom } from 'rxjs';
import { createPool } from '../../lib/pool';
import type { CallOptions } from '../../lib/call-options';
import { SmtpError } from '../../lib/errors';
import type { Mail } from '../../lib/mail/mail';
import type { PoolOutcome } from '../../lib/pool';
import type { SmtpPool } from '../../lib/pool';
import type { OutboxJobData } from '../../lib/outbox/job-data';
import type { Claim, Ledger } from '../../lib/outbox/ledger';
import type { OutboxOutcome } from '../../lib/outbox/outcome';
import { outboxProcessor } from '../../lib/outbox/processor';
import { defaultServer } from '../fixtures/default-server';
import { checkLeaks } from '../fixtures/handles';
import type { ScriptedServer } from '../fixtures/scripted-server';
import { poolTo } from './helpers';

/**
 * A ledger that answers as told, and a pool that keeps the `beforeEndOfData` contract: it awaits the
 * hook before writing anything of the mail, and a hook that errors fails the mail (`EIO`, the hook's
 * error as the cause) with nothing written. `written` counts the mails that got past the hook.
 */
function fakes(claim: Claim, marked: boolean | Error): { ledger: Ledger; pool: SmtpPool; given: () => number; written: () => number; outcomes: OutboxOutcome[] } {
  let given = 0;
  let written = 0;
  const ledger = {
    claim: async () => claim,
    mark: async () => {
      if (marked instanceof Error) throw marked;
      return marked;
    },
  } as unknown as Ledger;
  const pool = {
    sendAll: (mails: Mail[], options: CallOptions = {}) => {
      given++;
      return defer(async (): Promise<PoolOutcome> => {
        const mail = mails[0]!;
        try {
          if (options.beforeEndOfData !== undefined) await lastValueFrom(from(options.beforeEndOfData(mail, 0)), { defaultValue: undefined });
        } catch (err) {
          const error = new SmtpError('EIO', 'beforeEndOfData refused the mail', { cause: err });
          return { ok: false, index: 0, mail, error, failure: 'permanent' } as unknown as PoolOutcome;
        }
        written++;
        return { ok: true, index: 0, mail, result: { accepted: mail.to, rejected: [], reply: { code: 250, lines: ['ok'] } } } as unknown as PoolOutcome;
      });
    },
  } as unknown as SmtpPool;
  return { ledger, pool, given: () => given, written: () => written, outcomes: [] };
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
    expect(f.given()).to.equal(1); // the mark is the pool's hook now: the mail reaches it, and stops there
    expect(f.written()).to.equal(0);
    expect(f.outcomes).to.deep.equal([]);
  });

  it('sends nothing when Redis fails the mark, and makes the mail transient (retried after the backoff), not permanent', async () => {
    const f = fakes({ kind: 'fresh' }, Object.assign(new Error('Connection is closed.'), { code: 'ECONNRESET' }));
    const process = outboxProcessor({ ledger: f.ledger, pool: f.pool, workerName: 'w', record: (_job, o) => f.outcomes.push(o) });
    const error = await failure(process(job, 'token'));
    expect(error.name).to.equal('TransientFailure');
    expect(f.written()).to.equal(0);
    expect(f.outcomes).to.have.length(1);
    const [outcome] = f.outcomes;
    expect(outcome).to.deep.include({ id: 'j1', fate: 'transient', retry: true });
    expect(outcome!.fate === 'transient' && outcome!.error.code).to.equal('EIO');
    expect(outcome!.fate === 'transient' && outcome!.error.message).to.match(/the mark could not be written \(Connection is closed\.\); not sent/);
  });

  it('marks through the pool and delivers when the lock holds', async () => {
    const f = fakes({ kind: 'fresh' }, true);
    const process = outboxProcessor({ ledger: f.ledger, pool: f.pool, workerName: 'w', record: (_job, o) => f.outcomes.push(o) });
    expect(await process(job, 'token')).to.deep.include({ accepted: ['b@example.test'] });
    expect(f.written()).to.equal(1);
    expect(f.outcomes.map((o) => o.fate)).to.deep.equal(['delivered']);
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

// The same with a real pool on a real socket: the hook's failure reaches the processor through the
// pool's outcome, and the server never sees the mail's MAIL FROM.
describe('outbox processor through a real pool', () => {
  let server: ScriptedServer | undefined;
  let pool: SmtpPool | undefined;
  afterEach(async () => {
    if (pool !== undefined) await lastValueFrom(pool.close(), { defaultValue: undefined });
    await server?.close();
    server = pool = undefined;
  });
  checkLeaks();

  for (const [what, marked, thrown] of [
    ['the lock is gone at the mark', false, 'LockLost'],
    ['Redis fails the mark', new Error('Connection is closed.'), 'TransientFailure'],
  ] as const) {
    it(`writes nothing of the mail when ${what} (${thrown})`, async () => {
      server = await defaultServer();
      pool = createPool(poolTo(server.port));
      const ledger = {
        claim: async () => ({ kind: 'fresh' }),
        mark: async () => {
          if (marked instanceof Error) throw marked;
          return marked;
        },
      } as unknown as Ledger;
      const outcomes: OutboxOutcome[] = [];
      const process = outboxProcessor({ ledger, pool, workerName: 'w', record: (_job, o) => outcomes.push(o) });
      expect((await failure(process(job, 'token'))).name).to.equal(thrown);
      await lastValueFrom(pool.close(), { defaultValue: undefined });
      await server.idle();
      expect(server.lines[0]).to.match(/^EHLO /); // the pool had its connection: the mail stopped at the hook
      expect(server.lines.filter((line) => /^(MAIL|RCPT|DATA|BDAT)/.test(line))).to.deep.equal([]);
      expect(outcomes.map((o) => o.fate)).to.deep.equal(thrown === 'LockLost' ? [] : ['transient']);
    });
  }
});
