import type { Sides } from './rx';

/**
 * One side of a figure: what one round of it measures (messages/s, sessions/s, MB/s, or a record
 * of several figures).
 *
 * @example
 * ```ts
 * const nodemailer: Contestant = async () => perSecond(count, await timeIt(() => nmBatch(conn, count)));
 * ```
 */
export type Contestant<T = number> = () => Promise<T>;

/** What a side's rounds give: its contestant's result, one per round. */
type RoundsOf<C> = C extends Contestant<infer T> ? T[] : never;

/**
 * Each side's figure, one per round (a side given as `undefined`, such as a missing baseline, has none).
 *
 * @example
 * ```ts
 * const runs: Runs<{ rx: Contestant; nodemailer: Contestant }> = await alternate(3, sides);
 * pairedRatio(runs.rx, runs.nodemailer);
 * ```
 */
export type Runs<S> = { [P in keyof S]: undefined extends S[P] ? RoundsOf<Exclude<S[P], undefined>> | undefined : RoundsOf<S[P]> };

/**
 * Runs every side once per round for `rounds` rounds, in the order given on even rounds and in
 * reverse on odd ones (A B C, C B A, A B C...): each round's figures saw the same drift of a shared
 * machine, so their ratio is fair, and no side always runs first (on a warm JIT and a fresh heap)
 * or last (paying the garbage the others left). This matters most for a build against itself.
 *
 * @example
 * ```ts
 * const runs = await alternate(5, { rx: () => rxRound(), nodemailer: () => nmRound() });
 * ```
 */
export async function alternate<S extends { [K in keyof S]: Contestant<unknown> | undefined }>(rounds: number, sides: S): Promise<Runs<S>> {
  const present = Object.entries(sides).filter((entry): entry is [string, Contestant<unknown>] => entry[1] !== undefined);
  const runs: Record<string, unknown[]> = Object.fromEntries(present.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? present : [...present].reverse();
    for (const [name, contestant] of order) runs[name]!.push(await contestant());
  }
  return runs as unknown as Runs<S>;
}

/**
 * `make` applied to each build's side (`baseline` only when there is one).
 *
 * @example
 * ```ts
 * await alternate(rounds, { ...mapSides(builds, (rx) => () => rxRound(rx)), nodemailer: nmRound });
 * ```
 */
export function mapSides<T, U>(sides: Sides<T>, make: (side: T) => U): Sides<U> {
  return sides.baseline === undefined ? { rx: make(sides.rx) } : { rx: make(sides.rx), baseline: make(sides.baseline) };
}

/**
 * {@link mapSides} for a `make` that takes time (connecting a session per build, say), one after the other.
 *
 * @example
 * ```ts
 * const sessions = await mapSidesAsync(builds, (rx) => rxConnect(rx, port));
 * ```
 */
export async function mapSidesAsync<T, U>(sides: Sides<T>, make: (side: T) => Promise<U>): Promise<Sides<U>> {
  const rx = await make(sides.rx);
  return sides.baseline === undefined ? { rx } : { rx, baseline: await make(sides.baseline) };
}

/**
 * Every side's value, `rx` first.
 *
 * @example
 * ```ts
 * for (const session of sidesOf(sessions)) await rxQuit(session);
 * ```
 */
export function sidesOf<T>(sides: Sides<T>): T[] {
  return sides.baseline === undefined ? [sides.rx] : [sides.rx, sides.baseline];
}

/**
 * Count per second since `start` (a `performance.now()`).
 *
 * @example
 * ```ts
 * const start = performance.now(); await sendThem(); perSecond(1000, start);
 * ```
 */
export function perSecond(count: number, start: number): number {
  return (count / (performance.now() - start)) * 1000;
}
