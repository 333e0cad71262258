import { lastValueFrom, toArray } from 'rxjs';
import type { Mail } from '../../lib/index';
import { FROM, TO, nmConnect, nmQuit, nmSend, oneKMessage, rxConnect, rxQuit } from '../peers';
import { type MiniSinkOptions, startMiniSink } from '../sinks/mini-sink';

/**
 * Turns per message in steady state, for each client and server setting.
 *
 * @example
 * ```ts
 * const { rxPipelining, nodemailerPipelining } = await roundTrips(100);
 * ```
 */
export interface RoundTrips {
  rxPipelining: number;
  nodemailerPipelining: number;
  rxChunking: number;
  rxLockStep: number;
  nodemailerLockStep: number;
}

/**
 * Turns per message in steady state: the turns of a batch of 2n messages minus those of a batch
 * of n, over n, so that the connection's and each batch's first and last turns cancel out. Counted
 * by the mini sink in this process: the count does not depend on timing.
 *
 * @example
 * ```ts
 * (await roundTrips(100)).rxPipelining; // 1
 * ```
 */
export async function roundTrips(n: number): Promise<RoundTrips> {
  const pipelining = { pipelining: true };
  return {
    rxPipelining: await turnsPerMessage(pipelining, n, rxBatch),
    nodemailerPipelining: await turnsPerMessage(pipelining, n, nmBatch),
    rxChunking: await turnsPerMessage({ pipelining: true, chunking: true }, n, rxBatch),
    rxLockStep: await turnsPerMessage({}, n, rxBatch),
    nodemailerLockStep: await turnsPerMessage({}, n, nmBatch),
  };
}

type Batch = (port: number, count: number, turns: () => number) => Promise<number>;

async function turnsPerMessage(options: MiniSinkOptions, n: number, batch: Batch): Promise<number> {
  const sink = await startMiniSink(options);
  try {
    const one = await batch(sink.port, n, () => sink.turns);
    const two = await batch(sink.port, 2 * n, () => sink.turns);
    return (two - one) / n;
  } finally {
    await sink.close();
  }
}

/** Turns the server took while rx-smtp's `sendAll` sent `count` messages on a fresh connection. */
const rxBatch: Batch = async (port, count, turns) => {
  const session = await rxConnect(port);
  const mails: Mail[] = Array.from({ length: count }, () => ({ from: FROM, to: TO, body: oneKMessage() }));
  const before = turns();
  await lastValueFrom(session.sendAll(mails).pipe(toArray()));
  const taken = turns() - before;
  await rxQuit(session);
  return taken;
};

/** Turns the server took while nodemailer sent `count` messages back to back on one connection. */
const nmBatch: Batch = async (port, count, turns) => {
  const conn = await nmConnect(port);
  const before = turns();
  for (let i = 0; i < count; i++) await nmSend(conn, oneKMessage());
  const taken = turns() - before;
  await nmQuit(conn);
  return taken;
};
