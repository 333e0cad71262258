import type { Mail } from '../../lib/index';
import { FROM, TO, nmConnect, nmQuit, nmSendMany, oneKMessage, rxConnect, rxQuit, rxSendAll } from '../peers';
import { mapSidesAsync } from '../rounds';
import type { Builds, Rx } from '../rx';
import { type MiniSinkOptions, startMiniSink } from '../sinks/mini-sink';

/**
 * Turns per message in steady state of one rx-smtp build, for each server setting.
 *
 * @example
 * ```ts
 * const { pipelining, chunking, lockStep }: RxTurns = (await roundTrips(builds, 100)).rx;
 * ```
 */
export interface RxTurns {
  pipelining: number;
  chunking: number;
  lockStep: number;
}

/**
 * Turns per message in steady state, for each client and server setting (nodemailer has no BDAT).
 *
 * @example
 * ```ts
 * const { rx, nodemailer } = await roundTrips(builds, 100);
 * ```
 */
export interface RoundTrips {
  rx: RxTurns;
  baseline?: RxTurns;
  nodemailer: { pipelining: number; lockStep: number };
}

/**
 * Turns per message in steady state: the turns of a batch of 2n messages minus those of a batch
 * of n, over n, so that the connection's and each batch's first and last turns cancel out. Counted
 * by the mini sink in this process: the count does not depend on timing.
 *
 * @example
 * ```ts
 * (await roundTrips(builds, 100)).rx.pipelining; // 1
 * ```
 */
export async function roundTrips(builds: Builds, n: number): Promise<RoundTrips> {
  const pipelining = { pipelining: true };
  const rxTurns = async (rx: Rx): Promise<RxTurns> => ({
    pipelining: await turnsPerMessage(pipelining, n, rxBatch(rx)),
    chunking: await turnsPerMessage({ pipelining: true, chunking: true }, n, rxBatch(rx)),
    lockStep: await turnsPerMessage({}, n, rxBatch(rx)),
  });
  return {
    ...(await mapSidesAsync(builds, rxTurns)),
    nodemailer: { pipelining: await turnsPerMessage(pipelining, n, nmBatch), lockStep: await turnsPerMessage({}, n, nmBatch) },
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
const rxBatch = (rx: Rx): Batch => async (port, count, turns) => {
  const session = await rxConnect(rx, port);
  const mails: Mail[] = Array.from({ length: count }, () => ({ from: FROM, to: TO, body: oneKMessage() }));
  const before = turns();
  await rxSendAll(session, mails);
  const taken = turns() - before;
  await rxQuit(session);
  return taken;
};

/** Turns the server took while nodemailer sent `count` messages back to back on one connection. */
const nmBatch: Batch = async (port, count, turns) => {
  const conn = await nmConnect(port);
  const before = turns();
  await nmSendMany(conn, count, oneKMessage());
  const taken = turns() - before;
  await nmQuit(conn);
  return taken;
};
