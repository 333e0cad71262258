import { expect } from 'chai';
import { filter, firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import type { OutboxOutcome } from '../../lib/outbox';
import { checkLeaks } from '../fixtures/handles';
import { errorOf } from '../fixtures/observe';
import { defaultServer } from '../fixtures/default-server';
import { type ScriptedServer, hello, scriptedServer } from '../fixtures/scripted-server';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { diesAfterEndOfData, firstOutcomes, mail, outboxEnv, poolTo, transaction } from './helpers';

const summary = (o: OutboxOutcome): string => `${o.id} ${o.fate}${o.fate === 'transient' ? ` retry=${o.retry}` : ''} #${o.attempt}`;

describe('outbox work', () => {
  const env = outboxEnv();
  let scripted: ScriptedServer | undefined;
  let server: SmtpServerFixture | undefined;
  afterEach(async () => {
    await scripted?.close();
    await server?.close();
    scripted = server = undefined;
  });
  checkLeaks();

  it('delivers: the job completes with the queue id and the reply', async () => {
    scripted = await defaultServer({ '.': '250 2.0.0 Ok: queued as 4ZxQ1\r\n' });
    const outbox = env.outbox();
    await outbox.add(mail(1), { id: 'welcome' });
    const [outcome] = await firstOutcomes(outbox.work(poolTo(scripted.port)), 1);
    expect(outcome).to.deep.include({ id: 'welcome', fate: 'delivered', to: ['rcpt1@example.test'], attempt: 1 });
    expect(outcome!.fate === 'delivered' && outcome!.delivery).to.deep.equal({
      queueId: '4ZxQ1',
      reply: '250 2.0.0 Ok: queued as 4ZxQ1',
      accepted: ['rcpt1@example.test'],
      rejected: [],
    });
    expect(await firstValueFrom(outbox.counts$)).to.include({ delivered: 1, waiting: 0, active: 0 });
  });

  it('fails a permanent refusal at once, without a retry', async () => {
    scripted = await defaultServer({ RCPT: '550 5.1.1 no such user\r\n' });
    const outbox = env.outbox();
    await outbox.add(mail(1), { id: 'bounced' });
    const outcomes = await firstOutcomes(outbox.work(poolTo(scripted.port)), 1);
    expect(outcomes.map(summary)).to.deep.equal(['bounced permanent #1']);
    expect(outcomes[0]!.fate === 'permanent' && outcomes[0]!.error.code).to.equal('ESERVERPERM');
    await firstValueFrom(outbox.counts$.pipe(filter((c) => c.failed === 1)));
    expect(scripted.lines.filter((line) => line.startsWith('RCPT'))).to.have.length(1);
  });

  it('retries a 4xx after its backoff, and the retry is sent (the first attempt’s mark does not make it uncertain)', async () => {
    let ends = 0;
    scripted = await defaultServer({ '.': () => (++ends === 1 ? '451 4.3.0 try again later\r\n' : '250 2.0.0 Ok\r\n') });
    const outbox = env.outbox();
    await outbox.add(mail(1), { id: 'greylisted' });
    const outcomes = await firstOutcomes(outbox.work(poolTo(scripted.port)), 2);
    expect(outcomes.map(summary)).to.deep.equal(['greylisted transient retry=true #1', 'greylisted delivered #2']);
    expect(scripted.data).to.have.length(2);
  });

  it('fails a transient failure for good once its attempts are used', async () => {
    scripted = await defaultServer({ '.': '452 4.3.1 out of space\r\n' });
    const outbox = env.outbox();
    await outbox.add(mail(1), { id: 'full' });
    const outcomes = await firstOutcomes(outbox.work(poolTo(scripted.port)), 3);
    expect(outcomes.map(summary)).to.deep.equal(['full transient retry=true #1', 'full transient retry=true #2', 'full transient retry=false #3']);
    expect(await firstValueFrom(outbox.counts$.pipe(filter((c) => c.failed === 1)))).to.include({ delayed: 0, waiting: 0 });
  });

  it('keeps a mail whose connection died after its end of data as uncertain, and never sends it again', async () => {
    scripted = await scriptedServer(diesAfterEndOfData());
    const outbox = env.outbox();
    await outbox.add(mail(1), { id: 'unsure' });
    const outcomes = await firstOutcomes(outbox.work(poolTo(scripted.port)), 1);
    expect(outcomes.map(summary)).to.deep.equal(['unsure uncertain #1']);
    expect(await firstValueFrom(outbox.counts$.pipe(filter((c) => c.uncertain === 1)))).to.include({ failed: 0, waiting: 0, delayed: 0 });
    const [listed] = await outbox.uncertain();
    expect(listed).to.deep.include({ id: 'unsure', from: 'sender@example.test', to: ['rcpt1@example.test'] });
    expect(listed!.lastLine).to.match(/^(ESHUTDOWN|ECONNRESET) /);
    expect(scripted.connections).to.equal(1);
  });

  it('fetches a job only when the pool has room: maxConnections × 2 held, the rest left waiting', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const steps = [...hello(), ...transaction(), { until: held }, { send: '250 2.0.0 Ok\r\n' }];
    for (let i = 1; i < 5; i++) steps.push(...transaction('250 2.0.0 Ok\r\n'));
    scripted = await scriptedServer(steps);
    const outbox = env.outbox();
    for (let i = 0; i < 5; i++) await outbox.add(mail(i));
    const outcomes = lastValueFrom(outbox.work(poolTo(scripted.port, { maxConnections: 1 })).pipe(take(5), toArray()));
    await scripted.received(/^DATA/);
    const counts = await firstValueFrom(outbox.counts$.pipe(filter((c) => c.active === 2)));
    expect(counts).to.include({ waiting: 3, delivered: 0 });
    release();
    expect((await outcomes).map((o) => o.fate)).to.deep.equal(Array(5).fill('delivered'));
    expect(scripted.failures).to.deep.equal([]);
  });

  it('unsubscribing stops fetching, lets the jobs held finish, and loses none', async () => {
    server = await startSmtpServer();
    const outbox = env.outbox();
    for (let i = 0; i < 40; i++) await outbox.add(mail(i), { id: `m${i}` });
    await firstOutcomes(outbox.work(poolTo(server.port, { maxConnections: 2 })), 5);
    const counts = await firstValueFrom(outbox.counts$.pipe(filter((c) => c.active === 0)));
    // Held at the unsubscribe: at most the concurrency (2 connections × 2), and as many more whose
    // completion BullMQ had recorded but not yet announced.
    expect(counts.delivered).to.equal(server.messages.length).and.to.be.within(5, 5 + 2 * 4);
    expect(counts.waiting).to.equal(40 - counts.delivered);
  });

  it('close() stops the workers it started: their Observables complete', async () => {
    server = await startSmtpServer();
    const outbox = env.outbox();
    const done = lastValueFrom(outbox.work(poolTo(server.port)).pipe(toArray()));
    await outbox.add(mail(1));
    await firstValueFrom(outbox.counts$.pipe(filter((c) => c.delivered === 1)));
    await outbox.close();
    expect((await done).map((o) => o.fate)).to.deep.equal(['delivered']);
  });

  it('fails work() at once with EINVAL for bad pool or work options', async () => {
    const outbox = env.outbox();
    expect((await errorOf(outbox.work({ server: 'smtp://bad host:25' }))).code).to.equal('EINVAL');
    expect((await errorOf(outbox.work(poolTo(25), { concurrency: 0 }))).code).to.equal('EINVAL');
    expect((await errorOf(outbox.work(poolTo(25), { lockMs: 10 }))).code).to.equal('EINVAL');
  });
});
