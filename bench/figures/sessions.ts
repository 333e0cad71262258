import type { SmtpSession } from '../../lib/index';
import { type Dial, nmConnect, nmLogin, nmQuit, rxConnect, rxDial, rxOptions, rxQuit } from '../peers';
import { type Contestant, alternate, mapSides, perSecond } from '../rounds';
import type { Builds, Rx, Sides } from '../rx';

/**
 * Sessions per second of each side, one figure per round, alternating.
 *
 * @example
 * ```ts
 * median((await sessions(builds, port, 500, 3)).rx);
 * ```
 */
export interface SessionRuns {
  rx: number[];
  baseline?: number[];
  nodemailer: number[];
}

/**
 * How a sessions figure connects: `dial` says with what (AUTH, and STARTTLS when it holds a CA);
 * `reconnect` makes rx-smtp connect one session again and again (QUIT, then `connect()` on the
 * same session) instead of creating a session per connect: what a client that keeps its session
 * does, and where a TLS session cached by the session can be resumed. nodemailer's
 * SMTPConnection cannot connect twice, so it takes a new one each time.
 *
 * @example
 * ```ts
 * const tls: SessionsPlan = { dial: { auth: BENCH_AUTH, ca }, reconnect: true };
 * ```
 */
export interface SessionsPlan {
  dial: Dial;
  reconnect: boolean;
}

/**
 * connect + EHLO (+ STARTTLS + EHLO) + AUTH PLAIN + QUIT, one session after another, against the
 * same server, `count` a round.
 *
 * @example
 * ```ts
 * const runs = await sessions(builds, authSink.port, 500, 3, { dial: { auth: BENCH_AUTH }, reconnect: false }, 3000);
 * ```
 */
export async function sessions(builds: Builds, port: number, count: number, rounds: number, plan: SessionsPlan, warmUp: number): Promise<SessionRuns> {
  const sides = sessionSides(builds, port, count, plan);
  await alternate(warmUpRounds(warmUp, count), sides);
  return alternate(rounds, sides);
}

/**
 * Unmeasured rounds of `count` sessions that give each client at least `warmUp` sessions before the
 * first measured round (at least one round). Code that runs once a session is optimised by V8 only
 * after thousands of sessions: rx-smtp's rebuilt core, with more and smaller functions than the old
 * one, ran its sessions 2,500 to 3,000 at 0.6x to 0.8x of its later rate (bench/README.md), and in
 * a fresh process (the figures run in one each) 3,000 were not enough (0.82x the old core, against
 * 0.99x after 6,000), so a shorter warm-up measured V8's compiler rather than the client.
 *
 * @example
 * ```ts
 * await alternate(warmUpRounds(3000, 500), sides); // 6 rounds
 * ```
 */
export function warmUpRounds(warmUp: number, count: number): number {
  return Math.max(1, Math.ceil(warmUp / count));
}

/**
 * One round of each side of {@link sessions}: `count` sessions, sessions/s.
 *
 * @example
 * ```ts
 * const { rx, nodemailer } = sessionSides(builds, port, 300, plan);
 * ```
 */
export function sessionSides(builds: Builds, port: number, count: number, plan: SessionsPlan): Sides<Contestant> & { nodemailer: Contestant } {
  return {
    ...mapSides(builds, (rx) => () => rxSessions(rx, port, count, plan)),
    nodemailer: () => nmSessions(port, count, plan.dial),
  };
}

async function rxSessions(rx: Rx, port: number, count: number, plan: SessionsPlan): Promise<number> {
  const start = performance.now();
  if (plan.reconnect) {
    const session: SmtpSession = rx.createSession(rxOptions(plan.dial));
    for (let i = 0; i < count; i++) {
      await rxDial(session, port, plan.dial);
      await rxQuit(session, { dispose: false });
    }
    session.dispose();
  } else {
    for (let i = 0; i < count; i++) await rxQuit(await rxConnect(rx, port, plan.dial));
  }
  return perSecond(count, start);
}

async function nmSessions(port: number, count: number, dial: Dial): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const conn = await nmConnect(port, dial);
    if (dial.auth !== undefined) await nmLogin(conn, dial.auth);
    await nmQuit(conn);
  }
  return perSecond(count, start);
}
