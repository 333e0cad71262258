import { latency } from '../figures/latency';
import { POOL_CONNECTIONS } from '../figures/pool';
import { type Row, median } from '../report';
import { type Context, type Section, fmt, rateRow } from './context';

/** The round trip the latency counts are chosen for: a round takes a few seconds there. */
const REFERENCE_RTT_MS = 10;
/**
 * At a longer round trip the counts shrink with it, but not below this share of the 10 ms counts:
 * a batch pays its first and last round trips once (rx-smtp's n messages with DATA take n + 1
 * round trips, nodemailer's 2n), and with fewer messages that edge would weigh more than about 1%.
 */
const LEAST_SHARE_OF_COUNTS = 2 / 3;

/**
 * The latency section (`--rtt MS`, default 10): through a delaying proxy, one connection with DATA,
 * one with CHUNKING, and a pool of five, each rx-smtp against nodemailer. Message counts are
 * scaled by 10 / RTT, so that a round takes about as long at any round trip, down to
 * {@link LEAST_SHARE_OF_COUNTS} of them.
 *
 * @example
 * ```ts
 * const rows = await latencySection.rows({ ...ctx, rttMs: 50 });
 * ```
 */
export const latencySection: Section = {
  name: 'latency',
  async rows({ builds, sink, sizes, rttMs, runs, log }: Context): Promise<Row[]> {
    const scaled = (count: number): number => Math.round(count * Math.max(LEAST_SHARE_OF_COUNTS, REFERENCE_RTT_MS / rttMs));
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
    const at = `at ${rttMs} ms RTT`;
    return [
      rateRow(`1 KB msgs/s ${at}, one connection, DATA`, l.data, l.data.nodemailer, {
        unit: '/s',
        target: '>= 1.9x',
        targetRatio: 1.9,
        limit: `2x: 1 RTT/msg vs 2 (1/RTT = ${fmt(1000 / l.data.rttMs)}/s)`,
      }),
      rateRow(`1 KB msgs/s ${at}, one connection, CHUNKING vs DATA`, l.chunking, l.chunking.nodemailer, {
        unit: '/s',
        target: '>= 40x',
        targetRatio: 40,
        limit: `window/RTT: ${fmt((median(l.chunking.rx) * l.chunking.rttMs) / 1000, 1)} mails per RTT`,
        peerCell: `${fmt(median(l.chunking.nodemailer))}/s (no BDAT)`,
      }),
      rateRow(`1 KB msgs/s ${at}, pool of ${POOL_CONNECTIONS} vs pool of ${POOL_CONNECTIONS}`, l.pool, l.pool.nodemailer, {
        unit: '/s',
        target: '>= 1.9x',
        targetRatio: 1.9,
        limit: `2x: ${POOL_CONNECTIONS} x 1/RTT = ${fmt((POOL_CONNECTIONS * 1000) / l.pool.rttMs)}/s`,
      }),
    ];
  },
};
