import { nmConnect, nmLogin, nmQuit, rxConnect, rxQuit } from '../peers';

/**
 * Sessions per second of each client, one figure per round, alternating.
 *
 * @example
 * ```ts
 * median((await sessions(port, 500, 3)).rx);
 * ```
 */
export interface SessionRuns {
  rx: number[];
  nodemailer: number[];
}

const USER = 'bench';
const PASS = 'bench-password';

/**
 * connect + EHLO + AUTH PLAIN + QUIT, one session after another, against the same server (one
 * that offers AUTH PLAIN). Plain text on loopback, so both clients are told to allow it.
 *
 * @example
 * ```ts
 * const runs = await sessions(authSink.port, 500, 3);
 * ```
 */
export async function sessions(port: number, count: number, rounds: number): Promise<SessionRuns> {
  const runs: SessionRuns = { rx: [], nodemailer: [] };
  // Warm-up: both clients' code optimised before the first measured round (rx-smtp's first few
  // hundred sessions are markedly slower than its later ones, nodemailer's less so).
  await rxSessions(port, count);
  await nmSessions(port, count);
  for (let round = 0; round < rounds; round++) {
    runs.rx.push(await rxSessions(port, count));
    runs.nodemailer.push(await nmSessions(port, count));
  }
  return runs;
}

async function rxSessions(port: number, count: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) await rxQuit(await rxConnect(port, { user: USER, pass: PASS }));
  return (count / (performance.now() - start)) * 1000;
}

async function nmSessions(port: number, count: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const conn = await nmConnect(port);
    await nmLogin(conn, USER, PASS);
    await nmQuit(conn);
  }
  return (count / (performance.now() - start)) * 1000;
}
