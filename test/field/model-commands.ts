import fc from 'fast-check';
import * as sinon from 'sinon';
import { type BodyKind, REREADABLE, markedMail } from '../fixtures/marked-mail';
import { turns } from '../fixtures/observe';
import type { SmtpServerFixture } from '../fixtures/smtp-server';
import { World } from './model-world';

/**
 * Model-based tests (fast-check `commands`): random sequences of send, sendAll, unsubscribe, abort,
 * settle, quit, reconnect and dispose against a session or a pool over the fault proxy, each run
 * ended by the accounting check. The model is small on purpose: the oracle is the invariant, not a
 * prediction of each outcome. `runModel` is shared by model.test.ts (few runs, fixed seed) and the
 * soak (many runs, random seeds).
 *
 * @example
 * ```ts
 * await runModel({ mode: 'session', features: SAFE, server, seed: 42, numRuns: 5 });
 * ```
 */

/** One input of a call: a marked mail with a body kind and recipients, `undefined`, or a Mail object given before. */
export type MailSpec = { body: BodyKind; rcpt: 'ok' | 'partial' | 'refused' } | { body: 'undefined' } | { body: 'repeat'; which: number };

/** What the generated sequences may contain. */
export interface Features {
  bodies: readonly BodyKind[];
  /** `undefined` in the input, and Mail objects given again. */
  oddInputs: boolean;
  /** Unsubscribe and abort (AbortSignal) of calls under way. */
  cancel: boolean;
  /** dispose in the middle of a run (every run is disposed at its end anyway). */
  dispose: boolean;
}

/** Bodies that end: in memory and one-shot streams. */
export const PLAIN: Features = { bodies: ['string', 'buffer', 'readable', 'generator'], oddInputs: false, cancel: false, dispose: false };
/** Every body, odd input and cancellation. */
export const EVERYTHING: Features = { bodies: [...PLAIN.bodies, 'errors', 'never-generator', 'never-readable', 'big'], oddInputs: true, cancel: true, dispose: true };

/**
 * The groups a model test runs, each adding one area to PLAIN, so that a failure names its area
 * (the core's known defects of issue 10 fall in different groups).
 */
export const FEATURE_GROUPS: [string, Features][] = [
  ['strings, buffers and one-shot streams; send, sendAll, quit, reconnect, random faults', PLAIN],
  ['with unsubscribe and AbortSignal aborts under way', { ...PLAIN, cancel: true }],
  ['with bodies that fail midway or never end, big bodies, and dispose under way', { ...PLAIN, bodies: EVERYTHING.bodies, dispose: true }],
  ['with undefined in the input and the same Mail object given again', { ...PLAIN, oddInputs: true }],
];

interface Model {
  mode: 'session' | 'pool';
}
type Command = fc.AsyncCommand<Model, World>;

const RECIPIENTS = { ok: ['b@example.test'], partial: ['b@example.test', 'reject@example.test'], refused: ['reject@example.test'] };

function mailsOf(world: World, specs: readonly MailSpec[]): { mails: unknown[]; bodies: (BodyKind | undefined)[] } {
  const mails: unknown[] = [];
  const bodies: (BodyKind | undefined)[] = [];
  for (const spec of specs) {
    if (spec.body === 'undefined' || (spec.body === 'repeat' && world.reusable.length > 0)) {
      mails.push(spec.body === 'undefined' ? undefined : world.reusable[spec.which % world.reusable.length]);
      bodies.push(undefined);
      continue;
    }
    const body: BodyKind = spec.body === 'repeat' ? 'string' : spec.body;
    const mail = markedMail(world.marker(), { body, to: RECIPIENTS[spec.body === 'repeat' ? 'ok' : spec.rcpt] });
    // Only a body that can be read again may be given again: a stream given twice is the caller's mistake.
    if (REREADABLE.includes(body)) world.reusable.push(mail);
    mails.push(mail);
    bodies.push(body);
  }
  return { mails, bodies };
}

const describeSpecs = (specs: readonly MailSpec[]): string =>
  specs.map((s) => (s.body === 'undefined' ? 'undefined' : s.body === 'repeat' ? `repeat(${s.which})` : `${s.body}${s.rcpt === 'ok' ? '' : `/${s.rcpt}`}`)).join(', ');

/** Starts a call; with `wait`, lets it run to its end unless it holds a body that never ends. */
async function call(world: World, kind: 'send' | 'sendAll', specs: readonly MailSpec[], signal: boolean, wait: boolean): Promise<void> {
  const { mails, bodies } = mailsOf(world, specs);
  const tracked = world.start(kind, mails, bodies, signal);
  await turns(2);
  if (wait && !tracked.mayBlock) await world.drive(() => tracked.recorder.done, `${tracked.recorder.label}`);
}

const flags = (signal: boolean, wait: boolean): string => `${signal ? ', signal' : ''}${wait ? '' : ', no wait'}`;

class SendAll implements Command {
  constructor(
    readonly specs: readonly MailSpec[],
    readonly signal: boolean,
    readonly wait: boolean,
  ) {}
  check = (): boolean => true;
  run = (_model: Model, world: World): Promise<void> => call(world, 'sendAll', this.specs, this.signal, this.wait);
  toString = (): string => `sendAll([${describeSpecs(this.specs)}]${flags(this.signal, this.wait)})`;
}

class Send implements Command {
  constructor(
    readonly spec: MailSpec,
    readonly signal: boolean,
    readonly wait: boolean,
  ) {}
  check = (): boolean => true;
  run = (_model: Model, world: World): Promise<void> => call(world, 'send', [this.spec], this.signal, this.wait);
  toString = (): string => `send(${describeSpecs([this.spec])}${flags(this.signal, this.wait)})`;
}

class Unsubscribe implements Command {
  constructor(readonly which: number) {}
  check = (): boolean => true;
  async run(_model: Model, world: World): Promise<void> {
    const live = world.live();
    live[this.which % Math.max(1, live.length)]?.recorder.unsubscribe();
    await turns(2);
  }
  toString = (): string => `unsubscribe(live call ${this.which})`;
}

class Abort implements Command {
  constructor(readonly which: number) {}
  check = (): boolean => true;
  async run(_model: Model, world: World): Promise<void> {
    const live = world.live().filter((call) => call.controller !== undefined);
    const call = live[this.which % Math.max(1, live.length)];
    if (call === undefined) return;
    call.recorder.aborting();
    call.controller!.abort();
    world.violations.push(...(await world.expectPromptEnd([call], 'its signal aborted')));
  }
  toString = (): string => `abort(live call with a signal ${this.which})`;
}

/** Waits until every call and operation has ended, unless one holds a body that never ends. */
class Settle implements Command {
  check = (): boolean => true;
  async run(_model: Model, world: World): Promise<void> {
    if (world.live().some((call) => call.mayBlock)) return;
    await world.drive(() => world.live().length === 0 && world.operations.every((o) => o.done()), 'settle: every call');
  }
  toString = (): string => 'settle()';
}

class Quit implements Command {
  check = (): boolean => true;
  async run(_model: Model, world: World): Promise<void> {
    if (world.session !== undefined) world.track('quit', world.session.quit());
    else world.track('pool.close', world.pool!.close());
    await turns(2);
  }
  toString = (): string => 'quit()';
}

class Reconnect implements Command {
  check = (model: Model): boolean => model.mode === 'session';
  async run(_model: Model, world: World): Promise<void> {
    if (!world.disposed && world.session!.state.status === 'closed') await world.connect();
  }
  toString = (): string => 'reconnect()';
}

class Dispose implements Command {
  check = (): boolean => true;
  async run(_model: Model, world: World): Promise<void> {
    const live = world.live();
    world.dispose();
    world.violations.push(...(await world.expectPromptEnd(live, 'dispose')));
  }
  toString = (): string => 'dispose()';
}

function specArbitrary(features: Features): fc.Arbitrary<MailSpec> {
  const marked = fc.record({ body: fc.constantFrom(...features.bodies), rcpt: fc.constantFrom('ok', 'ok', 'ok', 'partial', 'refused') as fc.Arbitrary<'ok' | 'partial' | 'refused'> });
  if (!features.oddInputs) return marked;
  return fc.oneof(
    { weight: 6, arbitrary: marked },
    { weight: 1, arbitrary: fc.constant({ body: 'undefined' as const }) },
    { weight: 2, arbitrary: fc.record({ body: fc.constant('repeat' as const), which: fc.nat(20) }) },
  );
}

/** The commands a run is made of, for `features`. */
export function commandsArbitrary(features: Features, maxCommands: number): fc.Arbitrary<Iterable<Command>> {
  const spec = specArbitrary(features);
  const signal = features.cancel ? fc.boolean() : fc.constant(false);
  // Mostly one call at a time (more mail goes through); sometimes several under way at once.
  const wait = fc.constantFrom(true, true, false);
  const arbitraries: fc.Arbitrary<Command>[] = [
    fc.tuple(fc.array(spec, { minLength: 1, maxLength: 5 }), signal, wait).map(([specs, s, w]) => new SendAll(specs, s, w)),
    fc.tuple(spec, signal, wait).map(([s, withSignal, w]) => new Send(s, withSignal, w)),
    fc.constant(new Settle()),
    fc.constant(new Settle()),
    fc.constant(new Quit()),
    fc.constant(new Reconnect()),
  ];
  if (features.cancel) arbitraries.push(fc.nat(10).map((n) => new Unsubscribe(n)), fc.nat(10).map((n) => new Abort(n)));
  if (features.dispose) arbitraries.push(fc.constant(new Dispose()));
  return fc.commands(arbitraries, { maxCommands });
}

/** A run's parameters. */
export interface ModelRun {
  mode: 'session' | 'pool';
  features: Features;
  server: SmtpServerFixture;
  /** fast-check's seed: the same seed replays the same runs. */
  seed: number;
  numRuns: number;
  maxCommands?: number;
  faultRate?: number;
  /** fast-check's path of a failing run, to replay only that one (with its seed). */
  path?: string;
}

/**
 * Runs `numRuns` random sequences; throws (fast-check's report: seed, path, commands) at the first
 * that breaks a rule or hangs. Returns how the mails of all runs ended.
 */
export async function runModel({ mode, features, server, seed, numRuns, maxCommands = 12, faultRate = 0.3, path }: ModelRun): Promise<Record<string, number>> {
  const fates: Record<string, number> = {};
  const property = fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), commandsArbitrary(features, maxCommands), async (proxySeed, commands) => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    let world: World | undefined;
    const violations: string[] = [];
    try {
      world = await World.open({ mode, server, clock, seed: proxySeed, faultRate });
      await fc.asyncModelRun(() => ({ model: { mode }, real: world! }), commands).catch((error: Error) => violations.push(error.message));
      violations.push(...(await world.close()));
      for (const [fate, n] of Object.entries(world.fates)) fates[fate] = (fates[fate] ?? 0) + n;
    } finally {
      clock.restore();
    }
    if (violations.length > 0) throw new Error(`${violations.length} violations (proxy seed ${proxySeed}):\n  ${violations.slice(0, 12).join('\n  ')}`);
  });
  await fc.assert(property, { seed, numRuns, endOnFailure: true, ...(path !== undefined && { path }) });
  return fates;
}
