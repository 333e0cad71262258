import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

/**
 * rx-smtp's public API, as `lib/index.ts` declares it.
 *
 * @example
 * ```ts
 * const { createSession }: Rx = loadRx();
 * ```
 */
export type Rx = typeof import('../lib/index');

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
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  } catch (err) {
    // tsc still emits JavaScript for code with type errors (a work in progress elsewhere in lib/).
    if (!existsSync(path.join(BUILD_DIR, 'index.js'))) throw err;
    log('warning: the build reported type errors (above); measuring the JavaScript tsc emitted anyway');
  }
}

/**
 * The built library (or the sources, with `BENCH_SOURCE=1`).
 *
 * @example
 * ```ts
 * const session = loadRx().createSession({ tls: 'none' });
 * ```
 */
export function loadRx(): Rx {
  return (FROM_SOURCE ? require('../lib/index') : require(path.join(BUILD_DIR, 'index.js'))) as Rx;
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
