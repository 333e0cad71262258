import * as net from 'node:net';
import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import * as sinon from 'sinon';
import { type PoolOptions, type PoolOutcome, type PoolState, type SmtpPool, createPool } from '../../lib/pool';
import { turns } from '../fixtures/observe';
import type { ScriptedServer } from '../fixtures/scripted-server';
import { defaultServer } from '../fixtures/default-server';
import { numbered } from '../send/helpers';

/**
 * A server that answers its first `refusals` connections with 421 and closes them (what a pool
 * counts as a failed connect), and hands every later one to `backend`, if any. It records when
 * each connection came (`Date.now()`, which the tests fake).
 */
async function refusingServer(refusals: number, backend?: number): Promise<{ port: number; attempts: number[]; close(): Promise<void> }> {
  const attempts: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    attempts.push(Date.now());
    if (backend === undefined || attempts.length <= refusals) {
      socket.end('421 4.3.2 try again later\r\n');
      return;
    }
    const upstream = net.connect(backend, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    attempts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// PoolOptions.backoff, in virtual time: what the README's Pool section says of a server that
// refuses connections. Jitter is pinned (Math.random() = 1: each wait is its whole cap).
describe('pool backoff (virtual time)', () => {
  let clock: sinon.SinonFakeTimers;
  let pool: SmtpPool | undefined;
  let refusing: Awaited<ReturnType<typeof refusingServer>> | undefined;
  let scripted: ScriptedServer | undefined;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    sinon.stub(Math, 'random').returns(1);
  });
  afterEach(async () => {
    pool?.close().subscribe();
    await clock.runAllAsync();
    clock.restore();
    sinon.restore();
    await refusing?.close();
    await scripted?.close();
    pool = refusing = scripted = undefined;
  });

  const open = (port: number, options: Partial<PoolOptions>): SmtpPool =>
    (pool = createPool({ server: { host: '127.0.0.1', port }, tls: 'none', idleTimeout: 1_000, ...options }));

  /** Runs virtual time (and the real sockets under it) until `promise` settles; returns it and when it did. */
  async function until<T>(promise: Promise<T>, stepMs = 10): Promise<{ value: T; at: number }> {
    let done: { value: T; at: number } | undefined;
    promise.then((value) => (done = { value, at: Date.now() })).catch(() => undefined);
    while (done === undefined) {
      await turns(20);
      await clock.tickAsync(stepMs);
    }
    return done;
  }

  it('waits before each connect after a failure, doubling from initialDelay up to maxDelay; then the mail fails, transient', async () => {
    refusing = await refusingServer(Infinity);
    const states: PoolState[] = [];
    open(refusing.port, { maxConnections: 1, backoff: { initialDelay: 100, maxDelay: 400, attempts: 5 } }).state$.subscribe((s) => states.push(s));
    const { value } = await until(lastValueFrom(pool!.sendAll([numbered(0)]).pipe(toArray())));

    const gaps = refusing.attempts.slice(1).map((t, i) => t - refusing!.attempts[i]!);
    expect(gaps).to.have.length(4);
    // Each wait is its cap (jitter pinned), measured to the 10 ms step of the virtual clock.
    [100, 200, 400, 400].forEach((cap, i) => expect(gaps[i], `wait ${i + 1}`).to.be.within(cap, cap + 10));
    expect(value.map((o: PoolOutcome) => (o.ok ? 'sent' : `${o.failure} ${o.error.code}`))).to.deep.equal(['transient ESERVERTEMP']);
    expect(states.map((s) => s.backoff?.failures ?? 0).filter((n, i, all) => n !== all[i - 1])).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(states.find((s) => s.backoff?.failures === 5)!.backoff!.down).to.equal(true);
    expect(states.find((s) => s.backoff?.failures === 4)!.backoff!.down).to.equal(false);
  });

  it('shows state.backoff while connects fail, and drops it once one succeeds: the mail is sent', async () => {
    scripted = await defaultServer();
    refusing = await refusingServer(2, scripted.port);
    const states: PoolState[] = [];
    open(refusing.port, { maxConnections: 1, backoff: { initialDelay: 100, maxDelay: 400, attempts: 5 } }).state$.subscribe((s) => states.push(s));
    const { value } = await until(lastValueFrom(pool!.sendAll([numbered(0)]).pipe(toArray())));

    expect(value.map((o) => o.ok)).to.deep.equal([true]);
    expect(refusing.attempts).to.have.length(3);
    expect(states.map((s) => s.backoff?.failures ?? 0).filter((n, i, all) => n !== all[i - 1])).to.deep.equal([0, 1, 2, 0]);
  });

  // The connections a burst opened together are refused together: their failures count once
  // (before, five connections spent the policy's six attempts in one round, and the mails failed
  // at once instead of after the policy's waits).
  it('counts the connections refused together once: no mail fails before the policy has waited', async () => {
    refusing = await refusingServer(Infinity);
    open(refusing.port, { maxConnections: 5, backoff: { initialDelay: 100, maxDelay: 10_000, attempts: 6 } });
    const { at, value } = await until(lastValueFrom(pool!.sendAll(Array.from({ length: 5 }, (_, i) => numbered(i))).pipe(toArray())));

    // Five waits of at least half their caps (the least jitter allows): 50 + 100 + 200 + 400 + 800 ms.
    expect(at).to.be.at.least(1_550);
    expect(value.map((o) => (o.ok ? 'sent' : `${o.failure} ${o.error.code}`))).to.deep.equal(Array(5).fill('transient ESERVERTEMP'));
    // The connections retry together: six rounds (the policy's attempts), none of them split.
    expect(new Set(refusing.attempts).size).to.equal(6);
  });

  // A slot waiting out a backoff stops once no mail is left for it (before, it waited on after
  // close(), connected once more, and close() ended only after that).
  it('close() after every mail has failed ends at once, and connects no more', async () => {
    refusing = await refusingServer(Infinity);
    open(refusing.port, { maxConnections: 2, backoff: { initialDelay: 1_000, maxDelay: 10_000, attempts: 3 } });
    await until(lastValueFrom(pool!.sendAll([numbered(0), numbered(1)]).pipe(toArray())));
    const attempts = refusing.attempts.length;
    const closedAt = Date.now();
    const { at } = await until(lastValueFrom(pool!.close(), { defaultValue: undefined }));

    expect(at - closedAt).to.be.below(100);
    expect(refusing.attempts).to.have.length(attempts);
  });
});
