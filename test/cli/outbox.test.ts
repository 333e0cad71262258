import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import { createOutbox } from '../../lib/outbox';
import { closedPort } from '../fixtures/observe';
import { type RedisFixture, startRedis } from '../fixtures/redis';
import { type ScriptedServer, scriptedServer } from '../fixtures/scripted-server';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { diesAfterEndOfData } from '../outbox/helpers';
import { runCli } from './run';

describe('rx-smtp outbox', function () {
  this.timeout(60_000);
  let redis: RedisFixture | null = null;
  let server: SmtpServerFixture | undefined;
  let scripted: ScriptedServer | undefined;
  let queue: string;
  before(async function () {
    redis = await startRedis();
    if (redis === null) this.skip();
  });
  beforeEach(() => (queue = `cli-${randomUUID()}`));
  afterEach(async () => {
    await server?.close();
    await scripted?.close();
    server = scripted = undefined;
  });
  after(() => redis?.stop());

  const outbox = (...args: string[]) => runCli(['outbox', ...args, '--redis', redis!.url, '--queue', queue]);
  const add = (...extra: string[]) => outbox('add', '--from', 'a@example.test', '--to', 'b@example.test', ...extra);

  it('adds a mail once however often the producer runs, and shows it in status', async () => {
    expect((await add('--id', 'order-7')).stdout).to.equal('added order-7\n');
    expect((await add('--id', 'order-7')).stdout).to.equal('added order-7\n');
    const status = await outbox('status');
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.equal('waiting    1\nactive     0\ndelivered  0\nfailed     0\nuncertain  0\ndelayed    0\n');
  });

  it('works the queue until it is empty, one line per mail, and exits 0', async () => {
    server = await startSmtpServer();
    expect((await add('--count', '5')).stdout).to.equal('added 5 mails\n');
    const work = await outbox('work', '--server', `smtp://127.0.0.1:${server.port}`, '--tls', 'none', '--until-empty');
    expect(work.code, work.stderr).to.equal(0);
    expect(work.stdout.split('\n').filter((line) => line.startsWith('sent '))).to.have.length(5);
    expect(work.stdout).to.match(/^5 sent, 0 failed in /m);
    expect(server.messages).to.have.length(5);
    expect((await outbox('status')).stdout).to.contain('delivered  5\n');
  });

  it('exits with the worst failure’s status: 69 for a refused mail', async () => {
    server = await startSmtpServer({ onRcptTo: (_address, _session, callback) => callback(Object.assign(new Error('No such user'), { responseCode: 550 })) });
    await add();
    const work = await outbox('work', '--server', `smtp://127.0.0.1:${server.port}`, '--tls', 'none', '--until-empty');
    expect(work.code).to.equal(69);
    expect(work.stdout).to.match(/^failed job 1 b@example\.test: ESERVERPERM /m);
  });

  it('lists uncertain mails with their last line, and resolves them', async () => {
    scripted = await scriptedServer(diesAfterEndOfData());
    await add('--id', 'lost-reply');
    const work = await outbox('work', '--server', `smtp://127.0.0.1:${scripted.port}`, '--tls', 'none', '--until-empty');
    expect(work.stdout).to.match(/^failed job lost-reply b@example\.test: uncertain, may have been delivered: /m);
    const listed = await outbox('uncertain');
    expect(listed.stdout).to.match(/^lost-reply\t\d{4}-\d\d-\d\dT[\d:.]+Z\tb@example\.test\t(ESHUTDOWN|ECONNRESET) .+\n$/);
    const resolved = await outbox('uncertain', '--delivered', 'lost-reply');
    expect(resolved.stdout).to.equal('resolved lost-reply: delivered, will not be sent\n');
    const reader = createOutbox({ connection: redis!.connection, name: queue });
    try {
      expect(await firstValueFrom(reader.counts$)).to.include({ uncertain: 0, waiting: 1 });
    } finally {
      await reader.close();
    }
  });

  it('exits 75 with the refusal when Redis cannot be reached, soon', async () => {
    const run = await runCli(['outbox', 'status', '--redis', `redis://127.0.0.1:${await closedPort()}`]);
    expect(run.code).to.equal(75);
    expect(run.stderr).to.match(/^rx-smtp: ECONNREFUSED /);
  });
});
