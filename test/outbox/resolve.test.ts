import { expect } from 'chai';
import { filter, firstValueFrom } from 'rxjs';
import type { Outbox } from '../../lib/outbox';
import { type ScriptedServer, scriptedServer } from '../fixtures/scripted-server';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { diesAfterEndOfData, firstOutcomes, mail, outboxEnv, poolTo, rejection } from './helpers';

describe('outbox uncertain and resolve', () => {
  const env = outboxEnv();
  let dying: ScriptedServer | undefined;
  let server: SmtpServerFixture | undefined;
  afterEach(async () => {
    await dying?.close();
    await server?.close();
    dying = server = undefined;
  });

  /** An outbox with one uncertain mail: its connection died after the end of data. */
  async function withUncertain(id: string): Promise<Outbox> {
    dying = await scriptedServer(diesAfterEndOfData());
    const outbox = env.outbox();
    await outbox.add(mail(1), { id });
    await firstOutcomes(outbox.work(poolTo(dying.port)), 1);
    server = await startSmtpServer();
    return outbox;
  }

  it("resolve(id, 'delivered') completes the job through the next worker, without sending it", async () => {
    const outbox = await withUncertain('sent-after-all');
    await outbox.resolve('sent-after-all', 'delivered');
    expect(await outbox.uncertain()).to.deep.equal([]);
    const [outcome] = await firstOutcomes(outbox.work(poolTo(server!.port)), 1);
    expect(outcome!.fate === 'delivered' && outcome!.delivery.resolved).to.equal(true);
    expect(await firstValueFrom(outbox.counts$.pipe(filter((c) => c.delivered === 1)))).to.include({ uncertain: 0, failed: 0 });
    expect(server!.messages).to.have.length(0);
  });

  it("resolve(id, 'retry') sends the mail again, once", async () => {
    const outbox = await withUncertain('never-arrived');
    await outbox.resolve('never-arrived', 'retry');
    const [outcome] = await firstOutcomes(outbox.work(poolTo(server!.port)), 1);
    expect(outcome).to.deep.include({ id: 'never-arrived', fate: 'delivered' });
    expect(await firstValueFrom(outbox.counts$.pipe(filter((c) => c.delivered === 1)))).to.include({ uncertain: 0, failed: 0 });
    expect(server!.messages).to.have.length(1);
  });

  it('refuses an id that is not uncertain, twice resolved included, and a bad resolution (EINVAL)', async () => {
    const outbox = await withUncertain('u');
    expect((await rejection(outbox.resolve('nope', 'retry'))).code).to.equal('EINVAL');
    expect((await rejection(outbox.resolve('u', 'maybe' as 'retry'))).code).to.equal('EINVAL');
    await outbox.resolve('u', 'retry');
    expect((await rejection(outbox.resolve('u', 'delivered'))).code).to.equal('EINVAL');
  });
});
