import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, builtPackage } from '../fixtures/build';
import { PASSWORD } from '../fixtures/smtp-server';

/**
 * Runs a README example as a reader would: the block saved as an ES module (top-level `await`
 * works), `rx-smtp` and `rx-smtp/nodemailer` resolved to the built package (dist/, through
 * package.json's `exports`, as an installed package is), TypeScript stripped by tsx, in a child
 * process with `--unhandled-rejections=strict`, so that an error the example leaves unhandled
 * crashes it (a non-zero exit and a stack trace) as it would crash the reader's program.
 *
 * The child trusts the test CA (`NODE_EXTRA_CA_CERTS`, as an operator adds a private CA), so an
 * example that verifies certificates the default way verifies the test servers' `localhost`
 * certificate; `SMTP_PASSWORD` is the test account's.
 *
 * @example
 * ```ts
 * const run = await runExample(rewrite(exampleCode('sending'), [['smtp://localhost:2525', url]]));
 * expect(run.code).to.equal(0);
 * ```
 */

/** The test CA (test/fixtures/certs/README.md), which signed the `localhost` certificate. */
export const CA_PEM = join(ROOT, 'test', 'fixtures', 'certs', 'ca.pem');

/** Where examples run: inside the package, so that `import 'rx-smtp'` finds it by its own name. */
const RUNS = join(ROOT, '.tmp', 'readme-examples');

/** A run takes a second or two; this is for a run that hangs, which is itself the failure. */
const RUN_TIMEOUT_MS = 60_000;

/** What an example did. */
export interface ExampleRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** How to run an example. */
export interface RunOptions {
  /** Files to put in the example's working directory (name → content), such as `ca.pem`. */
  files?: Record<string, string | Buffer>;
  /** Environment added to the child's (`SMTP_PASSWORD` is the test password unless given). */
  env?: Record<string, string>;
  /** Called with the child once it runs, for tests that interrupt it (SIGINT). */
  started?: (child: ChildProcess, output: { readonly stdout: string }) => void;
}

/** Builds dist/ once per test process, before the suite's first test (see `builtPackage`). */
export function withBuiltPackage(): void {
  before(function () {
    this.timeout(120_000);
    return builtPackage();
  });
}

/** Saves `code` as a module in a fresh directory, runs it and collects its output. */
export async function runExample(code: string, options: RunOptions = {}): Promise<ExampleRun> {
  await builtPackage();
  mkdirSync(RUNS, { recursive: true });
  const dir = mkdtempSync(join(RUNS, 'run-'));
  try {
    for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), content);
    // .mts: an ES module whatever rx-smtp's package.json says, and a package.json of its own would hide rx-smtp's.
    writeFileSync(join(dir, 'example.mts'), code);
    return await run(dir, options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(dir: string, options: RunOptions): Promise<ExampleRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: CA_PEM, SMTP_PASSWORD: PASSWORD, ...options.env };
  delete env.NODE_OPTIONS; // mocha's own loader is not what a reader runs
  delete env.NODE_DEBUG;
  const child = spawn(process.execPath, ['--import', 'tsx', '--unhandled-rejections=strict', 'example.mts'], { cwd: dir, env, stdio: 'pipe' });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  child.stdin.end();
  options.started?.(child, output);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the example did not end within ${RUN_TIMEOUT_MS} ms:\n${output.stdout}\n${output.stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ...output });
    });
  });
}

/** The lines an example printed, without the trailing empty one. */
export function linesOf(text: string): string[] {
  return text.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1);
}
