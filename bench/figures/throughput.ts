import * as net from 'node:net';
import type { Mail } from '../../lib/index';
import { FROM, HOST, TO, nmConnect, nmQuit, nmSendMany, oneKMessage, rxConnect, rxQuit, rxSendAll } from '../peers';
import { onFinalLines } from '../raw-lines';
import { alternate, mapSides, mapSidesAsync, perSecond, sidesOf } from '../rounds';
import type { Builds } from '../rx';

/**
 * Messages per second of each side, one figure per round, rounds alternating rx-smtp (this build,
 * then the baseline's), nodemailer and, when asked for, the one-turn raw client.
 *
 * @example
 * ```ts
 * pairedRatio(runs.rx, runs.nodemailer);
 * ```
 */
export interface ThroughputRuns {
  rx: number[];
  baseline?: number[];
  nodemailer: number[];
  /** The protocol's limit: a raw socket that waits exactly once per message (for the 354). */
  oneTurn?: number[];
}

/**
 * How many messages a round of each client sends, how many unmeasured ones warm each up first,
 * and whether the one-turn raw client runs too. Counts may differ between the clients when their
 * rates do (CHUNKING against DATA at a long round trip): the figures are rates.
 *
 * @example
 * ```ts
 * const plan: ThroughputPlan = { rxMessages: 20_000, nmMessages: 20_000, warmUp: 500, rounds: 5, oneTurn: true };
 * ```
 */
export interface ThroughputPlan {
  rxMessages: number;
  nmMessages: number;
  warmUp: number;
  rounds: number;
  oneTurn: boolean;
}

/**
 * 1 KB messages over one connection per client, reused for every round: rx-smtp's `sendAll` of
 * an array, nodemailer's `SMTPConnection.send` awaited back to back, and the raw one-turn client.
 *
 * @example
 * ```ts
 * const runs = await throughput(builds, sink.port, { rxMessages: 20_000, nmMessages: 20_000, warmUp: 500, rounds: 3, oneTurn: true });
 * ```
 */
export async function throughput(builds: Builds, port: number, plan: ThroughputPlan): Promise<ThroughputRuns> {
  const body = oneKMessage();
  const mails = (count: number): Mail[] => Array.from({ length: count }, () => ({ from: FROM, to: TO, body }));
  const batch = mails(plan.rxMessages);
  const sessions = await mapSidesAsync(builds, (rx) => rxConnect(rx, port));
  const nm = await nmConnect(port);
  try {
    // A short warm-up each, so that none pays for compilation in the first measured round.
    for (const session of sidesOf(sessions)) await rxSendAll(session, mails(plan.warmUp));
    await nmSendMany(nm, plan.warmUp, body);
    if (plan.oneTurn) await oneTurnClient(port, plan.warmUp, body);
    return await alternate(plan.rounds, {
      ...mapSides(sessions, (session) => async () => {
        const start = performance.now();
        await rxSendAll(session, batch);
        return perSecond(plan.rxMessages, start);
      }),
      nodemailer: async () => {
        const start = performance.now();
        await nmSendMany(nm, plan.nmMessages, body);
        return perSecond(plan.nmMessages, start);
      },
      oneTurn: plan.oneTurn ? () => oneTurnClient(port, plan.rxMessages, body) : undefined,
    });
  } finally {
    for (const session of sidesOf(sessions)) await rxQuit(session);
    await nmQuit(nm);
  }
}

const ENVELOPE = `MAIL FROM:<${FROM}>\r\nRCPT TO:<${TO}>\r\nDATA\r\n`;

/**
 * The least a protocol-correct client can wait: envelope and DATA pipelined, the content only
 * after 354 (RFC 2920 3.1), the next envelope behind the end of data. One turn per message; no
 * reply is checked, no outcome built. Messages per second, timed from the first MAIL.
 *
 * @example
 * ```ts
 * const perSecond = await oneTurnClient(sink.port, 20_000, oneKMessage());
 * ```
 */
export function oneTurnClient(port: number, messages: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: HOST, noDelay: true });
    const content = `${body}.\r\n`;
    let stage: 'greeting' | 'ehlo' | 'sending' = 'greeting';
    let finals = 0;
    let sent = 0;
    let start = 0;
    socket.on('error', reject);
    onFinalLines(socket, (line) => {
      if (stage === 'greeting') {
        stage = 'ehlo';
        socket.write('EHLO bench.example.test\r\n');
      } else if (stage === 'ehlo') {
        stage = 'sending';
        start = performance.now();
        sent = 1;
        socket.write(ENVELOPE);
      } else if (line.startsWith('354')) {
        socket.write(sent < messages ? content + ENVELOPE : content);
        sent++;
      } else if (line.startsWith('250') && ++finals === 3 * messages) {
        // MAIL, RCPT and the end of data are each answered 250.
        const rate = perSecond(messages, start);
        socket.end('QUIT\r\n');
        resolve(rate);
      }
    });
  });
}
