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
 * What the latency section measured: the round trip a client saw through the proxy, and each figure's rounds.
 *
 * @example
 * ```ts
 * pairedRatio(runs.chunking.rx, runs.chunking.nodemailer);
 * ```
 */
export interface LatencyRuns {
  /** Median of NOOP round trips through the proxy to smtp-sink: the proxy's delay plus timer slack. */
  measuredRttMs: number;
  data: ThroughputRuns;
  chunking: ThroughputRuns;
  pool: PoolRuns;
}

/** NOOPs timed one after another to measure the round trip through the proxy. */
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
    const measuredRttMs = await roundTripMs(far.port);
    log(`  round trip through the proxy: ${measuredRttMs.toFixed(2)} ms (asked for ${plan.rttMs})`);
    const { rounds, warmUp } = plan;
    log(`  DATA, one connection: ${rounds} rounds of ${plan.dataMessages} messages against ${far.kind}`);
    const data = await throughput(builds, far.port, { rxMessages: plan.dataMessages, nmMessages: plan.dataMessages, warmUp, rounds, oneTurn: false });
    log(`  CHUNKING, one connection: ${rounds} rounds, rx-smtp ${plan.chunkingMessages} and nodemailer ${plan.dataMessages} messages, against ${farChunking.kind}`);
    const chunking = await throughput(builds, farChunking.port, { rxMessages: plan.chunkingMessages, nmMessages: plan.dataMessages, warmUp, rounds, oneTurn: false });
    log(`  pool of 5: ${rounds} rounds of ${plan.poolMessages} messages against ${far.kind}`);
    const pool = await pools(builds, far.port, plan.poolMessages, rounds, warmUp);
    return { measuredRttMs, data, chunking, pool };
  } finally {
    for (const server of servers.reverse()) await server.stop();
  }
}

/** The median time from a NOOP written to its reply read, over {@link RTT_PROBES} NOOPs after EHLO. */
function roundTripMs(port: number): Promise<number> {
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
          resolve(median(times));
        }
      }
    });
  });
}
