import { Readable } from 'node:stream';
import { expect } from 'chai';
import { filter, firstValueFrom, of } from 'rxjs';
import { SmtpError } from '../../lib/errors';
import { type OutboxCounts, createOutbox } from '../../lib/outbox';
import { startSmtpServer } from '../fixtures/smtp-server';
import { firstOutcomes, mail, outboxEnv, poolTo, rejection } from './helpers';

const ZERO: OutboxCounts = { waiting: 0, active: 0, delivered: 0, failed: 0, uncertain: 0, delayed: 0 };

describe('outbox add', () => {
  const env = outboxEnv();

  it('enqueues a mail and resolves with its id, the caller’s or one it makes', async () => {
    const outbox = env.outbox();
    expect(await outbox.add(mail(1), { id: 'order-1' })).to.equal('order-1');
    expect(await outbox.add(mail(2))).to.match(/^\d+$/);
    expect(await firstValueFrom(outbox.counts$)).to.deep.equal({ ...ZERO, waiting: 2 });
  });

  it('is idempotent on id: a producer that retries, at once or later, makes one job', async () => {
    const outbox = env.outbox();
    const ids = await Promise.all(Array.from({ length: 10 }, () => outbox.add(mail(1), { id: 'retried' })));
    expect(new Set(ids)).to.deep.equal(new Set(['retried']));
    expect(await outbox.add(mail(1), { id: 'retried' })).to.equal('retried');
    expect((await firstValueFrom(outbox.counts$)).waiting).to.equal(1);
  });

  it('is idempotent on id after the mail was delivered: it is not sent again', async () => {
    const server = await startSmtpServer();
    try {
      const outbox = env.outbox();
      await outbox.add(mail(1), { id: 'once' });
      await firstOutcomes(outbox.work(poolTo(server.port)), 1);
      await outbox.add(mail(1), { id: 'once' });
      expect(await firstValueFrom(outbox.counts$)).to.deep.equal({ ...ZERO, delivered: 1 });
      expect(server.messages).to.have.length(1);
    } finally {
      await server.close();
    }
  });

  it('keeps the body as given: text as text, bytes and streams as their octets', async () => {
    const server = await startSmtpServer();
    try {
      const outbox = env.outbox();
      const bytes = Buffer.from('Subject: bytes\r\n\r\n\xe9t\xe9\r\n', 'latin1');
      await outbox.add({ ...mail(1), body: 'Subject: text\r\n\r\nété ✓\r\n' });
      await outbox.add({ ...mail(2), body: bytes });
      await outbox.add({ ...mail(3), body: Readable.from([Buffer.from('Subject: stream\r\n\r\n'), Buffer.from('chunks\r\n')]) });
      await outbox.add({ ...mail(4), body: of(new Uint8Array(Buffer.from('Subject: observable\r\n\r\nx\r\n'))) });
      await firstOutcomes(outbox.work(poolTo(server.port, { maxConnections: 1 })), 4);
      const raw = server.messages.map((m) => m.raw);
      expect(raw).to.deep.include(Buffer.from('Subject: text\r\n\r\nété ✓\r\n', 'utf8'));
      expect(raw).to.deep.include(bytes);
      expect(raw).to.deep.include(Buffer.from('Subject: stream\r\n\r\nchunks\r\n'));
      expect(raw).to.deep.include(Buffer.from('Subject: observable\r\n\r\nx\r\n'));
    } finally {
      await server.close();
    }
  });

  it('refuses a body over maxBodyBytes with EMSGSIZE, a stream as soon as it passes the limit', async () => {
    const outbox = env.outbox({ maxBodyBytes: 100 });
    expect(await outbox.add({ ...mail(1), body: 'x'.repeat(100) })).to.be.a('string');
    expect((await rejection(outbox.add({ ...mail(2), body: 'é'.repeat(51) }))).code).to.equal('EMSGSIZE');
    let read = 0;
    const endless = new Readable({
      read() {
        read++;
        this.push(Buffer.alloc(40));
      },
    });
    expect((await rejection(outbox.add({ ...mail(3), body: endless }))).code).to.equal('EMSGSIZE');
    expect(read).to.be.below(10);
    expect(endless.destroyed).to.equal(true);
    expect((await firstValueFrom(outbox.counts$)).waiting).to.equal(1);
  });

  it('refuses a bad mail or id with EINVAL before anything reaches Redis', async () => {
    const outbox = env.outbox();
    const cases = [
      outbox.add({ ...mail(1), to: [] }),
      outbox.add({ ...mail(1), to: 'b@example.test\r\nRCPT TO:<c@example.test>' }),
      outbox.add({ ...mail(1), from: 'a@example.test>' }),
      outbox.add(mail(1), { id: '123' }),
      outbox.add(mail(1), { id: 'a:b' }),
      outbox.add(mail(1), { id: '' }),
      outbox.add(mail(1), { id: 'x'.repeat(257) }),
    ];
    for (const attempt of cases) expect((await rejection(attempt)).code).to.equal('EINVAL');
    expect(await firstValueFrom(outbox.counts$)).to.deep.equal(ZERO);
  });

  it('fails a body stream that errors with EIO, its error as the cause', async () => {
    const outbox = env.outbox();
    const broken = new Readable({
      read() {
        this.destroy(new Error('disk gone'));
      },
    });
    const error = await rejection(outbox.add({ ...mail(1), body: broken }));
    expect(error.code).to.equal('EIO');
    expect((error.cause as Error).message).to.equal('disk gone');
  });

  it('refuses adds once closed, with EPERM', async () => {
    const outbox = env.outbox();
    await outbox.close();
    expect((await rejection(outbox.add(mail(1)))).code).to.equal('EPERM');
  });

  it('checks its options with EINVAL before connecting', () => {
    const connection = env.redis().connection;
    const bad = [
      { connection, name: 'a:b' },
      { connection, name: '' },
      { connection, name: 'x', maxBodyBytes: 0 },
      { connection, name: 'x', retry: { attempts: 0 } },
      { connection, name: 'x', retry: { delayMs: 10, maxDelayMs: 5 } },
      { connection, name: 'x', keepDeliveredSeconds: 1.5 },
    ];
    for (const options of bad) expect(() => createOutbox(options)).to.throw(SmtpError).with.property('code', 'EINVAL');
  });

  it('counts$ emits the counts, then each change', async () => {
    const outbox = env.outbox();
    const seen: OutboxCounts[] = [];
    const subscription = outbox.counts$.subscribe((c) => seen.push(c));
    await firstValueFrom(outbox.counts$.pipe(filter((c) => c.waiting === 0)));
    await outbox.add(mail(1));
    await firstValueFrom(outbox.counts$.pipe(filter((c) => c.waiting === 1)));
    subscription.unsubscribe();
    expect(seen).to.deep.equal([ZERO, { ...ZERO, waiting: 1 }]);
  });
});
