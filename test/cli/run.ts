import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SMTPServerOptions } from 'smtp-server';
import { ROOT, builtPackage } from '../fixtures/build';
import { checkLeaks } from '../fixtures/handles';
import { type FixtureOptions, type SmtpServerFixture, USER, startSmtpServer } from '../fixtures/smtp-server';

/**
 * Runs `rx-smtp` as users do: the built dist/cli/main.js (see `builtPackage`) under plain node, as a
 * child process, and collects what it printed.
 *
 * @example
 * ```ts
 * const { code, stdout } = await runCli(['probe', `smtp://localhost:${server.port}`, '--ca', CA_FILE]);
 * ```
 */

const CERTS = join(ROOT, 'test', 'fixtures', 'certs');

/** The test CA that signed `localhost.pem`, as a file for `--ca`. */
export const CA_FILE = join(CERTS, 'ca.pem');

/** tsc takes about ten seconds for the package, more on a busy machine. */
const BUILD_TIMEOUT_MS = 120_000;

/** Builds dist/ before the suite's first test (once per process), so no test pays for it in its own time. */
export function withBuiltCli(): void {
  before(function () {
    this.timeout(BUILD_TIMEOUT_MS);
    return builtPackage();
  });
}

/** What the command did. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI with `args`; `env` is added to a copy of this process's environment without
 * RX_SMTP_PASSWORD and NODE_DEBUG, and `stdin` is written to its standard input (a pipe, so never
 * a terminal) before it is closed. It runs in the repository's root, or in `cwd`.
 */
export async function runCli(args: readonly string[], options: { env?: Record<string, string>; stdin?: string | Buffer; cwd?: string } = {}): Promise<CliRun> {
  const main = join(await builtPackage(), 'cli', 'main.js');
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (options.env?.RX_SMTP_PASSWORD === undefined) delete env.RX_SMTP_PASSWORD;
  if (options.env?.NODE_DEBUG === undefined) delete env.NODE_DEBUG;
  delete env.NODE_OPTIONS; // mocha's tsx loader is not what users run
  const child = spawn(process.execPath, [main, ...args], { cwd: options.cwd ?? ROOT, env, stdio: 'pipe' });
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
export function startTlsSmtpServer(options: FixtureOptions = {}): Promise<SmtpServerFixture> {
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

/** Head and body of a message as a server received it (split at the first empty line). */
export function headAndBody(raw: Buffer): [string, string] {
  const text = raw.toString('latin1');
  const at = text.indexOf('\r\n\r\n');
  return [text.slice(0, at), text.slice(at + 4)];
}

/** What a CLI suite's tests share: the server of the running test and a scratch directory. */
export interface CliSuite {
  /** The test's in-process server ({@link startTlsSmtpServer}). */
  readonly server: SmtpServerFixture;
  /** A scratch directory of the test's own, removed after it. */
  readonly dir: string;
  /** Replaces the test's server with one started with `options`. */
  restart(options: SMTPServerOptions): Promise<void>;
}

/**
 * Sets up a CLI suite: a fresh TLS smtp-server and scratch directory for each test, leak checks,
 * the built CLI.
 *
 * @example
 * ```ts
 * const suite = cliSuite();
 * it('sends', async () => expect((await runCli(sendArgs(suite.server.port, ...))).code).to.equal(0));
 * ```
 */
export function cliSuite(): CliSuite {
  let server: SmtpServerFixture | undefined;
  let dir: string | undefined;
  const suite: CliSuite = {
    get server() {
      return server!;
    },
    get dir() {
      return dir!;
    },
    async restart(options) {
      await server?.close();
      server = await startTlsSmtpServer(options);
    },
  };
  beforeEach(async () => {
    server = await startTlsSmtpServer();
    dir = mkdtempSync(join(tmpdir(), 'rx-smtp-cli-'));
  });
  afterEach(async () => {
    await server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    server = dir = undefined;
  });
  checkLeaks();
  withBuiltCli();
  return suite;
}
