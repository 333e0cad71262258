import * as net from 'node:net';
import { HOST } from '../peers';
import { onFinalLines } from '../raw-lines';
import { median } from '../report';
import type { Builds } from '../rx';
import { type BenchServer, startChildProxy, startChildSink } from '../servers';
import { type PoolRuns, pools } from './pool';
import { type ThroughputRuns, throughput } from './throughput';

/**
 * The round trip to aim for, how many rounds, and how many messages a round of each figure sends.
 *
 * @example
 * ```ts
 * const plan: LatencyPlan = { rttMs: 10, rounds: 5, dataMessages: 150, chunkingMessages: 2000, poolMessages: 750, warmUp: 20 };
 * ```
 */
export interface LatencyPlan {
  rttMs: number;
  rounds: number;
  /** One connection with DATA: each client's round (nodemailer's also on the CHUNKING sink). */
  dataMessages: number;
  /** One connection with CHUNKING: rx-smtp's round. */
  chunkingMessages: number;
  /** A pool of five: each pool's round. */
  poolMessages: number;
  /** Unmeasured messages per client before the first round. */
  warmUp: number;
}

/**
 * A figure's rounds and the round trip clients saw while it ran: the median of NOOPs timed through
 * its proxy just before and just after it (the proxy's delay, plus timer slack and the wait for a
 * busy CPU, which on a shared machine can be more than the delay itself).
 *
 * @example
 * ```ts
 * const limit = 1000 / runs.data.rttMs; // messages/s at one round trip each
 * ```
 */
export type AtRtt<T> = T & { rttMs: number };

/**
 * What the latency section measured: each figure's rounds, with the round trip it saw.
 *
 * @example
 * ```ts
 * pairedRatio(runs.chunking.rx, runs.chunking.nodemailer);
 * ```
 */
export interface LatencyRuns {
  data: AtRtt<ThroughputRuns>;
  chunking: AtRtt<ThroughputRuns>;
  pool: AtRtt<PoolRuns>;
}

/** NOOPs timed one after another, before and after each figure, to measure the round trip through the proxy. */
const RTT_PROBES = 21;

/**
 * The latency section: a delaying proxy (a child process) in front of smtp-sink and in front of a
 * mini sink that offers CHUNKING (another child process), then one connection with DATA, one with
 * CHUNKING (nodemailer, which has no BDAT, uses DATA there), and a pool of five against
 * nodemailer's, each in alternating rounds.
 *
 * @example
 * ```ts
 * const runs = await latency(builds, smtpSink, { rttMs: 10, rounds: 5, dataMessages: 150, chunkingMessages: 2000, poolMessages: 750, warmUp: 20 }, console.error);
 * ```
 */
export async function latency(builds: Builds, sink: BenchServer, plan: LatencyPlan, log: (line: string) => void): Promise<LatencyRuns> {
  const servers: BenchServer[] = [];
  try {
    const far = await startChildProxy(sink, plan.rttMs);
    servers.push(far);
    const chunkingSink = await startChildSink(['--pipelining', '--chunking'], 'mini-sink with CHUNKING (child process)');
    servers.push(chunkingSink);
    const farChunking = await startChildProxy(chunkingSink, plan.rttMs);
    servers.push(farChunking);
    const { rounds, warmUp } = plan;
    const atRtt = async <T>(what: string, port: number, run: () => Promise<T>): Promise<AtRtt<T>> => {
      log(`  ${what}`);
      const before = await roundTrips(port);
      const runs = await run();
      const rttMs = median([...before, ...(await roundTrips(port))]);
      log(`    round trip seen: ${rttMs.toFixed(2)} ms (asked for ${plan.rttMs})`);
      return { ...runs, rttMs };
    };
    const data = await atRtt(`DATA, one connection: ${rounds} rounds of ${plan.dataMessages} messages against ${far.kind}`, far.port, () =>
      throughput(builds, far.port, { rxMessages: plan.dataMessages, nmMessages: plan.dataMessages, warmUp, rounds, oneTurn: false }),
    );
    const chunkingWhat = `CHUNKING, one connection: ${rounds} rounds, rx-smtp ${plan.chunkingMessages} and nodemailer ${plan.dataMessages} messages, against ${farChunking.kind}`;
    const chunking = await atRtt(chunkingWhat, farChunking.port, () =>
      throughput(builds, farChunking.port, { rxMessages: plan.chunkingMessages, nmMessages: plan.dataMessages, warmUp, rounds, oneTurn: false }),
    );
    const pool = await atRtt(`pool of 5: ${rounds} rounds of ${plan.poolMessages} messages against ${far.kind}`, far.port, () =>
      pools(builds, far.port, plan.poolMessages, rounds, warmUp),
    );
    return { data, chunking, pool };
  } finally {
    for (const server of servers.reverse()) await server.stop();
  }
}

/** The time from each NOOP written to its reply read, {@link RTT_PROBES} NOOPs one after another after EHLO. */
function roundTrips(port: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: HOST, noDelay: true });
    const times: number[] = [];
    let sentAt = 0;
    let replies = 0;
    socket.on('error', reject);
    const probe = (): void => {
      sentAt = performance.now();
      socket.write('NOOP\r\n');
    };
    onFinalLines(socket, () => {
      replies++;
      if (replies === 1) socket.write('EHLO bench.example.test\r\n');
      else if (replies === 2) probe();
      else {
        times.push(performance.now() - sentAt);
        if (times.length < RTT_PROBES) probe();
        else {
          socket.end('QUIT\r\n');
          resolve(times);
        }
      }
    });
  });
}
