import { expect } from 'chai';
import { lastValueFrom, tap } from 'rxjs';
import type { Mail } from '../../lib/mail/mail';
import { type PoolOptions, type PoolState, type SmtpPool, classifyFailure, createPool } from '../../lib/pool';
import { checkAccounting } from '../fixtures/accounting';
import { CallRecorder } from '../fixtures/call-recorder';
import { type FaultProxy, startFaultProxy } from '../fixtures/fault-proxy';
import { checkLeaks } from '../fixtures/handles';
import { type MailStore, smtpServerStore } from '../fixtures/mail-store';
import { markedMail } from '../fixtures/marked-mail';
import { errorOf } from '../fixtures/observe';
import { type ScriptedServer, type Step, hello, scriptedServer, unstuff } from '../fixtures/scripted-server';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';

/**
 * An offset of the client's bytes on the first connection that falls inside a 4 MB body: past
 * EHLO and the envelope (a few hundred bytes), long before the body's end.
 */
const INSIDE_THE_BODY = 16 * 1024;

const MAIL = /^MAIL FROM:/;
const RCPT = /^RCPT TO:/;

/** A proxy whose first connection is reset at {@link INSIDE_THE_BODY}; the next ones go through. */
const cutInBody = (port: number): Promise<FaultProxy> =>
  startFaultProxy({ port }, (index) => (index === 0 ? { cut: { direction: 'toServer', at: INSIDE_THE_BODY, how: 'rst' } } : {}));

describe('pool: what it is given', () => {
  let pool: SmtpPool | undefined;
  let server: SmtpServerFixture | undefined;
  let scripted: ScriptedServer | undefined;
  let proxy: FaultProxy | undefined;
  afterEach(async () => {
    if (pool !== undefined) await lastValueFrom(pool.close(), { defaultValue: undefined });
    await proxy?.close();
    await server?.close();
    await scripted?.close();
    pool = server = scripted = proxy = undefined;
  });
  checkLeaks();

  const open = (port: number, options: Partial<PoolOptions> = {}): SmtpPool =>
    (pool = createPool({ server: { host: '127.0.0.1', port }, tls: 'none', idleTimeout: 20, maxConnections: 1, ...options }));

  /**
   * One pool sendAll of `mails` to smtp-server (through a proxy when `through` starts one), the pool
   * closed, then the accounting; with each position's fate and outcome code, and the last state.
   */
  async function sendAllChecked(label: string, mails: readonly unknown[], through?: (port: number) => Promise<FaultProxy>) {
    server = await startSmtpServer();
    const store: MailStore = smtpServerStore(server);
    const since = store.mark();
    proxy = through === undefined ? undefined : await through(server.port);
    const p = open(proxy?.port ?? server.port);
    let last: PoolState | undefined;
    p.state$.subscribe((state) => (last = state));
    const codes: string[] = [];
    const call$ = p.sendAll(mails as Mail[]).pipe(tap((o) => (codes[o.index] = o.ok ? 'ok' : o.error.code)));
    const call = new CallRecorder(label, 'sendAll', mails).start(call$);
    await call.ended;
    await lastValueFrom(p.close(), { defaultValue: undefined });
    const record = call.finish();
    const violations = await checkAccounting({ calls: [record], store, since });
    return { fates: record.fates.map((fates) => fates.join()), codes, last: last!, violations };
  }

  // Issue 10, defect 4: the next connection went on reading the body where the dead one had left
  // it, and the truncated (even empty) message was reported delivered.
  it('never sends again a one-shot body read in part when its connection died: it fails (EIO), nothing of it is stored', async () => {
    const streamed = markedMail('pool-streamed-cut', { body: 'big-generator' });
    const after = markedMail('pool-after-cut');
    const { fates, codes, violations } = await sendAllChecked('pool sendAll, cut in a streamed body', [streamed, after], cutInBody);

    expect(proxy!.connections[0]!.cut, 'the cut struck').to.not.equal(undefined);
    expect(violations).to.deep.equal([]);
    expect(fates).to.deep.equal(['failed', 'delivered']);
    expect(codes).to.deep.equal(['EIO', 'ok']);
    expect(server!.messages).to.have.length(1);
  });

  it('pool.send() of such a body: EIO, permanent (it cannot be read again), and no second connection tries', async () => {
    server = await startSmtpServer();
    proxy = await cutInBody(server.port);
    const error = await errorOf(open(proxy.port).send(markedMail('pool-streamed-cut-send', { body: 'big-generator' })));

    expect(error.code).to.equal('EIO');
    expect(classifyFailure(error)).to.equal('permanent');
    expect(server.messages).to.deep.equal([]);
    expect(proxy.connections).to.have.length(1);
  });

  // Issue 10, defect 5: the pool gave the mail to another connection, whose read of the spent body
  // found nothing: an empty message, delivered.
  it('a body that fails under DATA is never delivered: the mail fails (EIO), and the next mail goes', async () => {
    const { fates, codes, violations } = await sendAllChecked('pool sendAll, a body that fails', [markedMail('pool-errors', { body: 'errors' }), markedMail('pool-after-errors')]);
    expect(violations).to.deep.equal([]);
    expect(fates).to.deep.equal(['failed', 'delivered']);
    expect(codes).to.deep.equal(['EIO', 'ok']);
    expect(server!.messages).to.have.length(1);
  });

  // Issue 10, defect 6: a non-mail was dropped, and the pool hung with inFlight stuck.
  it('undefined, null or a number in sendAll: an EINVAL outcome at its position; the call completes and nothing stays in flight', async () => {
    const given = [markedMail('pool-odd-0'), undefined, null, 42, markedMail('pool-odd-4')];
    const { fates, codes, last, violations } = await sendAllChecked('pool sendAll, odd inputs', given);

    expect(violations).to.deep.equal([]);
    expect(fates).to.deep.equal(['delivered', 'failed', 'failed', 'failed', 'delivered']);
    expect(codes).to.deep.equal(['ok', 'EINVAL', 'EINVAL', 'EINVAL', 'ok']);
    expect(last).to.deep.include({ inFlight: 0, sent: 2, failed: 3 });
  });

  it('pool.send(undefined): EINVAL, and the pool still closes', async () => {
    server = await startSmtpServer();
    const p = open(server.port);
    const error = await errorOf(p.send(undefined as unknown as Mail));
    expect(error.code).to.equal('EINVAL');
    let last: { inFlight: number } | undefined;
    p.state$.subscribe((s) => (last = s));
    await lastValueFrom(p.close(), { defaultValue: undefined });
    expect(last?.inFlight).to.equal(0);
  });

  // Issue 10, defect 11: outcomes were matched to mails by identity, so one of two positions holding
  // the same Mail object lost its fate when the connection failed.
  it('the same Mail object three times, the connection dying after the second end of data: each position its own fate', async () => {
    const mail = markedMail('pool-same');
    const transaction = (reply?: string): Step[] => [
      { expect: MAIL, send: '250 2.1.0 Ok\r\n' },
      { expect: RCPT, send: '250 2.1.5 Ok\r\n' },
      { expect: 'DATA', send: '354 go ahead\r\n' },
      { expectData: true, ...(reply !== undefined && { send: reply }) },
    ];
    scripted = await scriptedServer((n) =>
      n === 0
        ? [...hello(['PIPELINING']), ...transaction('250 2.0.0 Ok: queued as A\r\n'), ...transaction(), { destroy: true }]
        : [...hello(['PIPELINING']), ...transaction('250 2.0.0 Ok: queued as B\r\n')],
    );
    const p = open(scripted.port);
    const fates = new Map<number, string>();
    await new Promise<void>((resolve, reject) =>
      p.sendAll([mail, mail, mail]).subscribe({
        next: (o) => fates.set(o.index, o.ok ? `ok ${o.result.queueId}` : o.failure),
        error: reject,
        complete: resolve,
      }),
    );

    expect([...fates].sort(([a], [b]) => a - b)).to.deep.equal([
      [0, 'ok A'],
      [1, 'uncertain'],
      [2, 'ok B'],
    ]);
    expect(scripted.failures).to.deep.equal([]);
    expect(scripted.data.map((d) => unstuff(d).toString())).to.deep.equal(Array(3).fill(mail.body));
  });
});
