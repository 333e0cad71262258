import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * rx-smtp's public API, as `lib/index.ts` declares it. A baseline build is typed the same way, so
 * the figures must use only what both builds have (no outcome field beyond `ok`).
 *
 * @example
 * ```ts
 * const { createSession }: Rx = loadRx();
 * ```
 */
export type Rx = typeof import('../lib/index');

/**
 * Something per build: `rx` for this tree's, `baseline` for the ref given with `--baseline=REF`.
 *
 * @example
 * ```ts
 * const sessions: Sides<SmtpSession> = { rx: await rxConnect(builds.rx, port) };
 * ```
 */
export interface Sides<T> {
  rx: T;
  baseline?: T;
}

/**
 * The builds a run measures. Every rx-smtp figure runs both in alternating rounds and reports
 * current over baseline.
 *
 * @example
 * ```ts
 * const builds: Builds = { rx: loadRx(), baseline: loadRx(BASELINE_DIR) };
 * ```
 */
export type Builds = Sides<Rx>;

const ROOT = path.join(__dirname, '..');
/**
 * Where the bench builds the library: what `npm run build` makes, kept apart from `dist/`.
 *
 * @example
 * ```ts
 * require(path.join(BUILD_DIR, 'index.js'));
 * ```
 */
export const BUILD_DIR = path.join(ROOT, '.tmp', 'bench-dist');
/**
 * Where `--baseline=REF` builds that ref's library.
 *
 * @example
 * ```ts
 * const baseline = loadRx(BASELINE_DIR);
 * ```
 */
export const BASELINE_DIR = path.join(ROOT, '.tmp', 'bench-baseline');
/** The environment variable that tells a figure's child process which build to load (a directory). */
const BUILD_ENV = 'BENCH_RX_BUILD';

/**
 * The environment a figure's child process needs to load this side's build: nothing for this
 * tree's (the child loads it as this process does), the baseline's directory for the baseline.
 *
 * @example
 * ```ts
 * runChild('idle-child.ts', args, ['--expose-gc'], buildEnv('baseline'));
 * ```
 */
export function buildEnv(side: keyof Sides<Rx>): Record<string, string> {
  return side === 'baseline' ? { [BUILD_ENV]: BASELINE_DIR } : {};
}
/** `BENCH_SOURCE=1` measures the TypeScript sources through tsx instead of the build. */
const FROM_SOURCE = process.env.BENCH_SOURCE === '1';

/**
 * Builds the library as it ships (tsc with `tsconfig.build.json`). The bench measures that build,
 * not the sources through tsx: tsx wraps every nested function in a `__name()` helper that gives
 * each closure its own property store (a third of an idle session's heap), which no user pays.
 *
 * @example
 * ```ts
 * buildRx();
 * const { createSession } = loadRx();
 * ```
 */
export function buildRx(log: (line: string) => void = console.error): void {
  if (FROM_SOURCE) return;
  compile(ROOT, BUILD_DIR, log);
}

/**
 * Builds `ref`'s library with that ref's own `tsconfig.build.json` into `outDir` (emptied first): the
 * ref's `lib/` and tsconfig files are taken with `git archive` into a temporary directory (which
 * borrows this tree's `node_modules`), compiled, and the directory removed. Returns the commit.
 *
 * @example
 * ```ts
 * const commit = buildBaseline('main');
 * ```
 */
export function buildBaseline(ref: string, log: (line: string) => void = console.error, outDir = BASELINE_DIR): string {
  let commit: string;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', '--verify', '--quiet', `${ref}^{commit}`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    throw new Error(`--baseline=${ref}: no such commit in this repository`);
  }
  const source = mkdtempSync(path.join(os.tmpdir(), 'rx-smtp-baseline-'));
  try {
    const archive = execFileSync('git', ['archive', '--format=tar', commit, 'lib', 'tsconfig.json', 'tsconfig.build.json'], { cwd: ROOT, maxBuffer: 1 << 28 });
    execFileSync('tar', ['-x', '-C', source], { input: archive });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(source, 'node_modules'), 'dir');
    rmSync(outDir, { recursive: true, force: true });
    compile(source, outDir, log);
  } finally {
    rmSync(source, { recursive: true, force: true });
  }
  return commit;
}

function compile(root: string, outDir: string, log: (line: string) => void): void {
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], {
      cwd: root,
      stdio: 'inherit',
    });
  } catch (err) {
    // tsc still emits JavaScript for code with type errors (a work in progress elsewhere in lib/).
    if (!existsSync(path.join(outDir, 'index.js'))) throw err;
    log(`warning: the build in ${path.relative(ROOT, outDir)} reported type errors (above); measuring the JavaScript tsc emitted anyway`);
  }
}

/**
 * A built library: this tree's build by default, the one named by {@link BUILD_ENV} in a figure's
 * child process, or `dir`; the sources with `BENCH_SOURCE=1` (for this tree only).
 *
 * @example
 * ```ts
 * const session = loadRx().createSession({ tls: 'none' });
 * ```
 */
export function loadRx(dir: string | undefined = process.env[BUILD_ENV]): Rx {
  if (dir === undefined) return (FROM_SOURCE ? require('../lib/index') : require(path.join(BUILD_DIR, 'index.js'))) as Rx;
  return require(path.join(dir, 'index.js')) as Rx;
}

/**
 * Where the figures' rx-smtp comes from, for the output.
 *
 * @example
 * ```ts
 * console.log(`rx-smtp: ${rxOrigin()}`);
 * ```
 */
export function rxOrigin(): string {
  return FROM_SOURCE ? 'TypeScript sources via tsx (BENCH_SOURCE=1)' : 'the tsc build (tsconfig.build.json)';
}
