import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import * as sinon from 'sinon';
import { type PoolOutcome, type SmtpPool, createPool } from '../../lib/pool';
import { SendAllError } from '../../lib/send/send-all-error';
import type { ScriptedServer } from '../fixtures/scripted-server';
import { defaultServer } from '../fixtures/default-server';
import { turns } from '../fixtures/observe';
import { numbered } from '../send/helpers';

describe('pool timing (virtual time)', () => {
  let clock: sinon.SinonFakeTimers;
  let scripted: ScriptedServer | undefined;
  let pool: SmtpPool | undefined;
  beforeEach(() => (clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })));
  afterEach(async () => {
    pool?.close().subscribe();
    await clock.runAllAsync();
    clock.restore();
    await scripted?.close();
    scripted = pool = undefined;
  });

  it('keeps to rateLimit over the whole pool: a burst of `messages`, then messages per perMs', async () => {
    const mailTimes: number[] = [];
    scripted = await defaultServer({
      MAIL: () => {
        mailTimes.push(Date.now());
        return '250 2.1.0 Ok\r\n';
      },
    });
    pool = createPool({ server: { host: '127.0.0.1', port: scripted.port }, tls: 'none', maxConnections: 3, rateLimit: { messages: 2, perMs: 1_000 } });
    let done = false;
    const all = lastValueFrom(pool.sendAll(Array.from({ length: 6 }, (_, i) => numbered(i))).pipe(toArray())).finally(() => (done = true));
    while (!done) {
      await turns(20);
      await clock.tickAsync(50);
    }
    const outcomes = await all;

    expect(outcomes.filter((o) => o.ok)).to.have.length(6);
    // Token i is granted at max(0, (i - 1) * 500) ms; a MAIL can only follow its token.
    mailTimes.sort((a, b) => a - b);
    [0, 0, 500, 1_000, 1_500, 2_000].forEach((earliest, i) => expect(mailTimes[i], `mail ${i}`).to.be.at.least(earliest));
    expect(mailTimes.filter((t) => t < 500)).to.have.length(2);
  });

  it('QUITs a connection after idleTimeout without work, not before', async () => {
    scripted = await defaultServer();
    pool = createPool({ server: { host: '127.0.0.1', port: scripted.port }, tls: 'none', idleTimeout: 10_000 });
    const sending = lastValueFrom(pool.send(numbered(1)));
    while (scripted.lines.filter((l) => l === 'DATA').length === 0) await turns(1);
    await turns(20);
    await sending;
    await turns(20);

    await clock.tickAsync(9_999);
    await turns(20);
    expect(scripted.lines).to.not.include('QUIT');
    await clock.tickAsync(1);
    await scripted.received('QUIT');
  });

  // Issue 10, defect 9: a job waiting for its token did not see the abort: a mail went out after
  // it, and close() waited seconds for the token.
  describe('aborted while a mail waits for its rate-limit token', () => {
    /** Bursts of one, a token every 10 s: the second mail waits for its token for 10 s. */
    const RATE = { messages: 1, perMs: 10_000 };
    const MAILS = 3;

    /** Starts a sendAll of MAILS and lets real I/O run until the first is delivered (no virtual time passes). */
    async function firstDelivered(signal: AbortSignal | undefined, poolSignal?: AbortSignal) {
      scripted = await defaultServer();
      pool = createPool({ server: { host: '127.0.0.1', port: scripted.port }, tls: 'none', maxConnections: 1, rateLimit: RATE, ...(poolSignal && { signal: poolSignal }) });
      const outcomes: PoolOutcome[] = [];
      const call = { ended: false, error: undefined as unknown };
      pool.sendAll(Array.from({ length: MAILS }, (_, i) => numbered(i)), signal === undefined ? {} : { signal }).subscribe({
        next: (o) => outcomes.push(o),
        error: (error: unknown) => Object.assign(call, { ended: true, error }),
        complete: () => (call.ended = true),
      });
      while (outcomes.length === 0) await turns(1);
      await turns(20);
      return { outcomes, call };
    }

    /** MAIL commands the server saw. */
    const mailsSeen = (): number => scripted!.lines.filter((l) => l.startsWith('MAIL ')).length;

    it("the call's signal: it ends at once (ECANCELED, the rest not sent), nothing is sent later, close() needs no time", async () => {
      const controller = new AbortController();
      const { outcomes, call } = await firstDelivered(controller.signal);
      const before = clock.now;
      controller.abort();
      await turns(5);

      expect(call.ended).to.equal(true);
      expect(call.error).to.be.instanceOf(SendAllError);
      expect((call.error as SendAllError).code).to.equal('ECANCELED');
      // Waiting for their tokens, nothing of them written: not sent, never uncertain.
      expect((call.error as SendAllError).notSent.map((r) => r.index)).to.deep.equal([1, 2]);
      expect(outcomes.map((o) => o.ok)).to.deep.equal([true]);
      let closed = false;
      pool!.close().subscribe({ complete: () => (closed = true) });
      for (let i = 0; i < 100 && !closed; i++) await turns(1);
      expect(closed, 'close() completed without virtual time passing').to.equal(true);
      expect(clock.now).to.equal(before);
      await clock.tickAsync(RATE.perMs * 3);
      await turns(20);
      expect(mailsSeen()).to.equal(1);
    });

    it("the pool's signal: the call ends, state$ completes without virtual time passing, nothing is sent later", async () => {
      const controller = new AbortController();
      const { call } = await firstDelivered(undefined, controller.signal);
      let completed = false;
      pool!.state$.subscribe({ complete: () => (completed = true) });
      const before = clock.now;
      controller.abort();
      for (let i = 0; i < 100 && !completed; i++) await turns(1);

      expect(call.ended).to.equal(true);
      expect((call.error as SendAllError).code).to.equal('ECANCELED');
      // Waiting for their tokens, nothing of them written: not sent, never uncertain.
      expect((call.error as SendAllError).notSent.map((r) => r.index)).to.deep.equal([1, 2]);
      expect(completed, 'state$ completed').to.equal(true);
      expect(clock.now).to.equal(before);
      await clock.tickAsync(RATE.perMs * 3);
      await turns(20);
      expect(mailsSeen()).to.equal(1);
    });
  });
});
