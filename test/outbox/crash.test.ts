import { randomUUID } from 'node:crypto';
import { type Job, Queue, Worker } from 'bullmq';
import { expect } from 'chai';
import { filter, firstValueFrom } from 'rxjs';
import { Ledger } from '../../lib/outbox/ledger';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { firstOutcomes, mail, outboxEnv, poolTo } from './helpers';

/**
 * The crash mark, without killing processes: a "dying worker" is a BullMQ worker fetching by hand
 * that takes a job and leaves it, as a killed worker would. BullMQ's stalled check puts such a job
 * back in line with its attempt count unchanged; `job.moveToWait(token)` does the same at once, so
 * these tests need not wait for a lock to expire. test/outbox/kill.test.ts kills real processes.
 */
describe('outbox crash mark', () => {
  const env = outboxEnv();
  let server: SmtpServerFixture | undefined;
  let queue: Queue | undefined;
  let dying: Worker | undefined;
  afterEach(async () => {
    await dying?.close();
    await queue?.close();
    await server?.close();
    dying = queue = server = undefined;
  });

  /** A queue's producer, a worker that fetches by hand, and the ledger, on one fresh queue. */
  function fixture(): { name: string; ledger: Ledger; take: () => Promise<{ job: Job; token: string }> } {
    const name = `crash-${randomUUID()}`;
    const connection = env.redis().connection;
    queue = new Queue(name, { connection });
    // A retry at once: its backoff is not what these tests are about.
    dying = new Worker(name, null, { connection, lockDuration: 60_000, settings: { backoffStrategy: () => 0 } });
    const worker = dying;
    return {
      name,
      ledger: new Ledger(() => worker.getBackend().client, (type) => worker.toKey(type)),
      take: async () => {
        const token = randomUUID();
        return { job: await worker.getNextJob(token), token };
      },
    };
  }

  describe('ledger', () => {
    it('lets the lock holder claim a fresh job and mark it; refuses both to any other token', async () => {
      const { name, ledger, take } = fixture();
      const outbox = env.outbox({ name });
      const id = await outbox.add(mail(1), { id: 'a' });
      const { token } = await take();
      expect(await ledger.claim(id, 'someone-else', 'note')).to.deep.equal({ kind: 'lost' });
      expect(await ledger.claim(id, token, 'note')).to.deep.equal({ kind: 'fresh' });
      expect(await ledger.mark(id, 'someone-else', 'note')).to.equal(false);
      expect(await ledger.markedNow([id])).to.deep.equal([]);
      expect(await ledger.mark(id, token, 'w1 marked it')).to.equal(true);
      expect(await ledger.markedNow([id])).to.deep.equal([id]);
    });

    it('finds a job marked in an attempt that never finished uncertain, and lists it with the mark', async () => {
      const { name, ledger, take } = fixture();
      const outbox = env.outbox({ name });
      const id = await outbox.add(mail(1), { id: 'b' });
      const first = await take();
      await ledger.mark(id, first.token, 'w1 marked it');
      await first.job.moveToWait(first.token); // what the stalled check does to a dead worker's job
      const second = await take();
      expect(await ledger.claim(id, second.token, 'w2 found it')).to.deep.equal({ kind: 'uncertain', lastLine: 'w1 marked it' });
      expect([...(await ledger.uncertain()).keys()]).to.deep.equal([id]);
    });

    it('finds a job fresh again once the marked attempt failed for a retry (BullMQ counted it)', async () => {
      const { name, ledger, take } = fixture();
      const outbox = env.outbox({ name });
      const id = await outbox.add(mail(1), { id: 'c' });
      const first = await take();
      await ledger.mark(id, first.token, 'w1 marked it');
      await first.job.moveToFailed(new Error('451 try later'), first.token);
      expect(await firstValueFrom(outbox.counts$.pipe(filter((c) => c.active === 0)))).to.include({ waiting: 1 });
      const second = await take();
      expect(await ledger.claim(id, second.token, 'note')).to.deep.equal({ kind: 'fresh' });
    });
  });

  it('a job whose worker died after the mark becomes uncertain and is not sent again', async () => {
    server = await startSmtpServer();
    const { name, ledger, take } = fixture();
    const outbox = env.outbox({ name });
    const id = await outbox.add(mail(1), { id: 'past-mark' });
    const { job, token } = await take();
    await ledger.mark(id, token, 'w1 marked it for its end of data');
    await job.moveToWait(token);
    const [outcome] = await firstOutcomes(outbox.work(poolTo(server.port)), 1);
    expect(outcome).to.deep.include({ id, fate: 'uncertain' });
    expect(outcome!.fate === 'uncertain' && outcome!.error.code).to.equal('EOWNERDEAD');
    const [listed] = await outbox.uncertain();
    expect(listed).to.deep.include({ id, lastLine: 'w1 marked it for its end of data' });
    expect(server.messages).to.have.length(0);
  });

  it('a job whose worker died before the mark is run again and delivered once', async () => {
    server = await startSmtpServer();
    const { name, take } = fixture();
    const outbox = env.outbox({ name });
    const id = await outbox.add(mail(1), { id: 'before-mark' });
    const { job, token } = await take();
    await job.moveToWait(token);
    const [outcome] = await firstOutcomes(outbox.work(poolTo(server.port)), 1);
    expect(outcome).to.deep.include({ id, fate: 'delivered' });
    expect(server.messages).to.have.length(1);
  });
});
