import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../fixtures/build';

/**
 * Installs the packed tarball into a fresh app the way a user's `npm install rx-smtp` would, but
 * offline: rx-smtp comes from the tarball, and every package it needs from this repository's
 * node_modules as a `file:` link (found through package-lock.json), so npm has nothing to fetch.
 *
 * @example
 * ```ts
 * const dir = await installApp(join(tmp, 'esm'), tarball, { type: 'module' });
 * await node(dir, 'app.mjs');
 * ```
 */

const exec = promisify(execFile);

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
}

/** The names a package needs at run time, and everything those need, as installed at the top of node_modules. */
export function runtimeClosure(roots: readonly string[]): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dependency of Object.keys(lock.packages[`node_modules/${name}`]?.dependencies ?? {})) {
      // A copy nested under the package comes along with its link; only a hoisted one needs its own.
      if (lock.packages[`node_modules/${name}/node_modules/${dependency}`] === undefined) visit(dependency);
    }
  };
  roots.forEach(visit);
  return [...seen].sort();
}

/** What the tarball's package.json says it needs: dependencies and peers. */
function needsOf(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: object; peerDependencies?: object };
  return [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
}

/** An environment for npm and node children without this process's test loader or npm's own variables. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) if (key.startsWith('npm_')) delete env[key];
  return env;
}

/**
 * Creates `dir` with a package.json (`extra` merged in) depending on the tarball and on links for
 * everything it needs (and `alsoLinked`, e.g. `@types/node` for a TypeScript app), and runs
 * `npm install --offline` there.
 */
export async function installApp(dir: string, tarball: string, extra: Record<string, unknown> = {}, alsoLinked: readonly string[] = []): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const links = runtimeClosure([...needsOf(), ...alsoLinked]);
  const dependencies: Record<string, string> = { 'rx-smtp': `file:${tarball}` };
  for (const name of links) dependencies[name] = `file:${join(ROOT, 'node_modules', name)}`;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies, ...extra }, null, 2));
  await exec('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: dir, env: cleanEnv() });
  return dir;
}

/** Runs `node file` in the app; resolves with what it printed, rejects with its stderr. */
export async function node(dir: string, file: string, env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await exec(process.execPath, [file], { cwd: dir, env: { ...cleanEnv(), ...env } });
  return stdout;
}

/** Runs this repository's TypeScript compiler on the app's tsconfig.json; resolves with its output (empty when clean). */
export async function tsc(dir: string): Promise<string> {
  const result = await exec(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, env: cleanEnv() }).catch(
    (err: { stdout: string }) => err,
  );
  return result.stdout;
}
