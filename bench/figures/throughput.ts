import * as net from 'node:net';
import { lastValueFrom, toArray } from 'rxjs';
import type { Mail } from '../../lib/index';
import { FROM, HOST, TO, nmConnect, nmQuit, nmSend, oneKMessage, rxConnect, rxQuit } from '../peers';
import { onFinalLines } from '../raw-lines';

/**
 * Messages per second of each client, one figure per round, rounds alternating rx, nodemailer, raw.
 *
 * @example
 * ```ts
 * pairedRatio(runs.rx, runs.nodemailer);
 * ```
 */
export interface ThroughputRuns {
  rx: number[];
  nodemailer: number[];
  /** The protocol's limit: a raw socket that waits exactly once per message (for the 354). */
  oneTurn: number[];
}

/**
 * 1 KB messages over one connection per client, reused for every round: rx-smtp's `sendAll`,
 * nodemailer's `SMTPConnection.send` back to back, and a raw one-turn client, alternating.
 *
 * @example
 * ```ts
 * const runs = await throughput(sink.port, 20_000, 3);
 * ```
 */
export async function throughput(port: number, messages: number, rounds: number): Promise<ThroughputRuns> {
  const body = oneKMessage();
  const mails: Mail[] = Array.from({ length: messages }, () => ({ from: FROM, to: TO, body }));
  const rx = await rxConnect(port);
  const nm = await nmConnect(port);
  const runs: ThroughputRuns = { rx: [], nodemailer: [], oneTurn: [] };
  try {
    // One short warm-up each, so that neither pays for compilation in the first measured round.
    await lastValueFrom(rx.sendAll(mails.slice(0, 500)).pipe(toArray()));
    for (let i = 0; i < 500; i++) await nmSend(nm, body);
    await oneTurnClient(port, 500, body);
    for (let round = 0; round < rounds; round++) {
      let start = performance.now();
      const outcomes = await lastValueFrom(rx.sendAll(mails).pipe(toArray()));
      runs.rx.push(perSecond(messages, start));
      if (!outcomes.every((o) => o.ok)) throw new Error('rx-smtp: a message was refused');
      start = performance.now();
      for (let i = 0; i < messages; i++) await nmSend(nm, body);
      runs.nodemailer.push(perSecond(messages, start));
      runs.oneTurn.push(await oneTurnClient(port, messages, body));
    }
  } finally {
    await rxQuit(rx);
    await nmQuit(nm);
  }
  return runs;
}

function perSecond(count: number, start: number): number {
  return (count / (performance.now() - start)) * 1000;
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
