import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BENCH_AUTH } from '../peers';
import { type Contestant, alternate } from '../rounds';
import type { Builds } from '../rx';
import type { ChildSink } from '../servers';
import { type SessionRuns, sessionSides, warmUpRounds } from './sessions';

/**
 * Sessions per second with STARTTLS, and how many of each side's TLS handshakes the server saw
 * resume an earlier session (over every measured round).
 *
 * @example
 * ```ts
 * const { rx, nodemailer, tls } = await tlsSessions(builds, sink, 300, 5, 3000);
 * console.log(`${tls.rx!.resumed} of ${tls.rx!.handshakes} resumed`);
 * ```
 */
export interface TlsSessionRuns extends SessionRuns {
  tls: Record<string, Handshakes>;
}

/**
 * TLS handshakes the server completed during a side's rounds, and how many resumed.
 *
 * @example
 * ```ts
 * const share = h.resumed / h.handshakes;
 * ```
 */
export interface Handshakes {
  handshakes: number;
  resumed: number;
}

/** The CA that signed the mini sink's certificate (`localhost`, 127.0.0.1): both clients verify it. */
const TEST_CA = path.join(__dirname, '..', '..', 'test', 'fixtures', 'certs', 'ca.pem');

/**
 * connect + EHLO + STARTTLS + EHLO + AUTH PLAIN + QUIT, one session after another, against the
 * mini sink with STARTTLS in a child process (one secure context for every connection, so that it
 * resumes whatever session a client offers). rx-smtp connects one session again and again, where a
 * TLS session it keeps can be resumed; nodemailer takes a new SMTPConnection each time (it keeps
 * no TLS session). Both verify the server's certificate against the test CA.
 *
 * @example
 * ```ts
 * const runs = await tlsSessions(builds, await startChildSink(['--pipelining', '--auth', '--starttls']), 300, 5, 3000);
 * ```
 */
export async function tlsSessions(builds: Builds, sink: ChildSink, count: number, rounds: number, warmUp: number): Promise<TlsSessionRuns> {
  const dial = { auth: BENCH_AUTH, ca: readFileSync(TEST_CA) };
  const plain = sessionSides(builds, sink.port, count, { dial, reconnect: true });
  const tls: Record<string, Handshakes> = {};
  let measuring = false;
  const counted = (name: string, side: Contestant): Contestant => async () => {
    const before = await sink.counts();
    const rate = await side();
    const after = await sink.counts();
    if (measuring) {
      const sum = (tls[name] ??= { handshakes: 0, resumed: 0 });
      sum.handshakes += after.handshakes - before.handshakes;
      sum.resumed += after.resumed - before.resumed;
    }
    return rate;
  };
  const sides = {
    rx: counted('rx', plain.rx),
    baseline: plain.baseline === undefined ? undefined : counted('baseline', plain.baseline),
    nodemailer: counted('nodemailer', plain.nodemailer),
  };
  // Warm-up: as for the plain sessions, every client optimised before the first measured round.
  await alternate(warmUpRounds(warmUp, count), sides);
  measuring = true;
  return { ...(await alternate(rounds, sides)), tls };
}
