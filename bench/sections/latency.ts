import { latency } from '../figures/latency';
import { POOL_CONNECTIONS } from '../figures/pool';
import { type Row, median } from '../report';
import { type Context, type Section, fmt, rateRow } from './context';

/** The round trip the latency counts are chosen for: a round takes a few seconds there. */
const REFERENCE_RTT_MS = 10;

/**
 * The latency section (`--rtt MS`, default 10): through a delaying proxy, one connection with DATA,
 * one with CHUNKING, and a pool of five, each rx-smtp against nodemailer. Message counts are
 * scaled by 10 / RTT, so that a round takes about as long at any round trip.
 *
 * @example
 * ```ts
 * const rows = await latencySection.rows({ ...ctx, rttMs: 50 });
 * ```
 */
export const latencySection: Section = {
  name: 'latency',
  async rows({ builds, sink, sizes, rttMs, runs, log }: Context): Promise<Row[]> {
    const scaled = (count: number): number => Math.max(sizes.latencyWarmUp, Math.round((count * REFERENCE_RTT_MS) / rttMs));
    log(`latency: ${rttMs} ms round trip through a delaying proxy (child process), ${sizes.latencyRounds} rounds each`);
    const l = await latency(
      builds,
      sink,
      {
        rttMs,
        rounds: sizes.latencyRounds,
        dataMessages: scaled(sizes.latencyDataMessages),
        chunkingMessages: scaled(sizes.latencyChunkingMessages),
        poolMessages: scaled(sizes.latencyPoolMessages),
        warmUp: sizes.latencyWarmUp,
      },
      log,
    );
    runs.latency = { rttMs, ...l };
    const rtt = l.measuredRttMs;
    const oneTurnRate = 1000 / rtt;
    const at = `at ${rttMs} ms RTT`;
    return [
      rateRow(`1 KB msgs/s ${at}, one connection, DATA`, l.data, l.data.nodemailer, {
        unit: '/s',
        target: '>= 1.9x',
        targetRatio: 1.9,
        limit: `2x: 1 RTT/msg vs 2 (1/RTT = ${fmt(oneTurnRate)}/s)`,
      }),
      rateRow(`1 KB msgs/s ${at}, one connection, CHUNKING vs DATA`, l.chunking, l.chunking.nodemailer, {
        unit: '/s',
        target: '>= 40x',
        targetRatio: 40,
        limit: `window/RTT: ${fmt((median(l.chunking.rx) * rtt) / 1000, 1)} mails per RTT`,
        peerCell: `${fmt(median(l.chunking.nodemailer))}/s (no BDAT)`,
      }),
      rateRow(`1 KB msgs/s ${at}, pool of ${POOL_CONNECTIONS} vs pool of ${POOL_CONNECTIONS}`, l.pool, l.pool.nodemailer, {
        unit: '/s',
        target: '>= 1.9x',
        targetRatio: 1.9,
        limit: `2x: ${POOL_CONNECTIONS} x 1/RTT = ${fmt(POOL_CONNECTIONS * oneTurnRate)}/s`,
      }),
    ];
  },
};
