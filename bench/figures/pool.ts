import nodemailer from 'nodemailer';
import { lastValueFrom, toArray } from 'rxjs';
import type { Mail } from '../../lib/index';
import { FROM, HOST, TO, nmOptions, oneKMessage } from '../peers';
import { alternate, mapSides, perSecond } from '../rounds';
import type { Builds, Rx } from '../rx';

/**
 * Messages per second of each pool, one figure per round, alternating.
 *
 * @example
 * ```ts
 * pairedRatio(runs.rx, runs.nodemailer);
 * ```
 */
export interface PoolRuns {
  rx: number[];
  baseline?: number[];
  nodemailer: number[];
}

/**
 * Connections each pool keeps open: nodemailer's default, and rx-smtp's; what submission servers
 * commonly allow one client.
 */
export const POOL_CONNECTIONS = 5;

/**
 * 1 KB messages through a pool of {@link POOL_CONNECTIONS} connections: rx-smtp's `createPool`
 * and one `sendAll` of an array, against nodemailer's pooled transport given every message at
 * once (`sendMail` with a prebuilt `raw` message and an explicit envelope, so nothing is built).
 * Each round is a fresh pool, timed from the first message given to the last answered, so both
 * open their connections inside the round; both reconnect after 100 messages a connection (their
 * default). `warmUp` messages through a first pool of each, unmeasured.
 *
 * @example
 * ```ts
 * const runs = await pools(builds, proxy.port, 1000, 5, 50);
 * ```
 */
export async function pools(builds: Builds, port: number, messages: number, rounds: number, warmUp: number): Promise<PoolRuns> {
  const body = oneKMessage();
  const sides = (count: number) => ({
    ...mapSides(builds, (rx) => () => rxPoolRound(rx, port, count, body)),
    nodemailer: () => nmPoolRound(port, count, body),
  });
  await alternate(1, sides(warmUp));
  return alternate(rounds, sides(messages));
}

async function rxPoolRound(rx: Rx, port: number, count: number, body: string): Promise<number> {
  const mails: Mail[] = Array.from({ length: count }, () => ({ from: FROM, to: TO, body }));
  const pool = rx.createPool({ server: { host: HOST, port }, tls: 'none', maxConnections: POOL_CONNECTIONS });
  try {
    const start = performance.now();
    const outcomes = await lastValueFrom(pool.sendAll(mails).pipe(toArray()));
    const rate = perSecond(count, start);
    // Only `ok` is read: the outcome's shape differs between builds.
    if (outcomes.length !== count || !outcomes.every((o) => o.ok)) throw new Error('rx-smtp pool: a message was refused');
    return rate;
  } finally {
    await lastValueFrom(pool.close(), { defaultValue: undefined });
  }
}

async function nmPoolRound(port: number, count: number, body: string): Promise<number> {
  const transport = nodemailer.createTransport({ pool: true, maxConnections: POOL_CONNECTIONS, ...nmOptions(port) });
  try {
    const start = performance.now();
    await Promise.all(Array.from({ length: count }, () => transport.sendMail({ envelope: { from: FROM, to: [TO] }, raw: body })));
    return perSecond(count, start);
  } finally {
    transport.close();
  }
}
