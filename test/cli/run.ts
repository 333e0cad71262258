import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SMTPServerOptions } from 'smtp-server';
import { type SmtpServerFixture, USER, startSmtpServer } from '../fixtures/smtp-server';

/**
 * Runs `rx-smtp` as a child process (through tsx, from the sources) and collects what it printed.
 *
 * @example
 * ```ts
 * const { code, stdout } = await runCli(['probe', `smtp://localhost:${server.port}`, '--ca', CA_FILE]);
 * ```
 */

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'lib', 'cli', 'main.ts');
const CERTS = join(ROOT, 'test', 'fixtures', 'certs');

/** The test CA that signed `localhost.pem`, as a file for `--ca`. */
export const CA_FILE = join(CERTS, 'ca.pem');

/** What the command did. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI with `args`; `env` is added to a copy of this process's environment without
 * RX_SMTP_PASSWORD and NODE_DEBUG, and `stdin` is written to its standard input (a pipe, so never
 * a terminal) before it is closed.
 */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return runNode(['--import', 'tsx', MAIN, ...args], options);
}

/** What a run of the CLI gets besides its arguments. */
export interface CliOptions {
  env?: Record<string, string>;
  stdin?: string;
}

/**
 * Runs the CLI as `npm run build` makes it (see {@link builtCli}), under plain node, as
 * {@link runCli} runs it from the sources.
 */
export async function runBuiltCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return runNode([join(await builtCli(), 'cli', 'main.js'), ...args], options);
}

let build: Promise<string> | undefined;

/**
 * The library compiled as `npm run build` compiles it (tsc -p tsconfig.build.json), once per test
 * process, into a scratch directory under .tmp/ (inside the repository, so the compiled CLI still
 * finds node_modules; never dist/, which a developer may be using); removed when the process exits.
 * Resolves with the directory, the counterpart of dist/.
 */
export function builtCli(): Promise<string> {
  build ??= (async () => {
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    const out = mkdtempSync(join(ROOT, '.tmp', 'cli-build-'));
    process.on('exit', () => rmSync(out, { recursive: true, force: true }));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', out], { cwd: ROOT });
    return out;
  })();
  return build;
}

function runNode(nodeArgs: readonly string[], options: CliOptions): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (options.env?.RX_SMTP_PASSWORD === undefined) delete env.RX_SMTP_PASSWORD;
  if (options.env?.NODE_DEBUG === undefined) delete env.NODE_DEBUG;
  const child = spawn(process.execPath, nodeArgs, { cwd: ROOT, env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The in-process smtp-server with the CA-signed `localhost` certificate (so `--ca CA_FILE` verifies
 * it), AUTH offered only after STARTTLS, and the usual alice / s3cret account.
 */
export function startTlsSmtpServer(options: SMTPServerOptions = {}): Promise<SmtpServerFixture> {
  return startSmtpServer({
    key: readFileSync(join(CERTS, 'localhost.key')),
    cert: readFileSync(join(CERTS, 'localhost.pem')),
    allowInsecureAuth: false,
    ...options,
  });
}

export { closedPort } from '../fixtures/observe';

/** `rx-smtp send` to the test server as alice over STARTTLS, trusting the test CA; `extra` follows. */
export function sendArgs(port: number, ...extra: string[]): string[] {
  return ['send', '--server', `smtp://localhost:${port}`, '--ca', CA_FILE, '--user', USER, ...extra];
}
