import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type CliRun, runCli, withBuiltCli } from '../cli/run';
import { ROOT } from '../fixtures/build';
import { PASSWORD } from '../fixtures/smtp-server';
import { README_PATH, type ShellCommand, readmeBlocks, shellCommands } from './blocks';
import { CA_PEM } from './run-example';
import { type ExampleServer, exampleServers } from './servers';

// The README's shell blocks: the npm scripts it names exist, `npm start` does what it says, the
// files it points to are there, and every `rx-smtp` command line of "Command line" runs, as
// written, through the built CLI against smtp-server in this process (its host names mapped to the
// test server, the test CA trusted as an operator would add a private CA).

const README = readFileSync(README_PATH, 'utf8');
const SH = readmeBlocks().filter((b) => b.lang === 'sh');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

describe('README commands', function () {
  this.timeout(120_000);

  it('names only npm scripts that package.json has', () => {
    const named = SH.flatMap((b) => shellCommands(b.code))
      .map((c) => c.argv)
      .filter((argv) => argv[0] === 'npm' && ['run', 'start', 'test'].includes(argv[1]!))
      .map((argv) => (argv[1] === 'run' ? argv[2]! : argv[1]!));
    expect(named).to.include.members(['start', 'test', 'bench']);
    expect(named.filter((script) => PACKAGE.scripts[script] === undefined)).to.deep.equal([]);
    expect(PACKAGE.scripts.test).to.match(/^npm run typecheck && mocha /);
  });

  it('points only to files and directories of the repository that exist', () => {
    const paths = [...README.matchAll(/`((?:test|bench|lib|examples|\.ci)\/[\w./-]*)`|\]\(((?:test|bench|lib|examples)\/[\w./-]+)\)/g)].map((m) => m[1] ?? m[2]!);
    expect(paths.length).to.be.at.least(5);
    expect(paths.filter((path) => !existsSync(join(ROOT, path)))).to.deep.equal([]);
  });

  it('npm start: the demo connects, upgrades to TLS, logs in, sends three mails (one recipient refused), quits', async () => {
    const run = await npmStart();

    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^state → starttls$/m).and.match(/^state → connected \(CRAM-MD5, TLSv1\.3 /m);
    expect(run.stdout).to.match(/^ {2}C: AUTH CRAM-MD5\n {2}S: 334 \[redacted\]\n {2}C: \[redacted\]$/m);
    expect(run.stdout.match(/^sent: accepted bob@example\.test; rejected (none|nobody@example\.test); \d+ octets$/gm)).to.have.length(3);
    expect(run.stdout).to.include('rejected nobody@example.test').and.match(/^QUIT answered 221$/m);
  });

  describe('Command line, each line run by the built CLI', () => {
    const servers = exampleServers();
    withBuiltCli();
    const block = SH.find((b) => b.code.includes('rx-smtp probe'));
    const commands = shellCommands(block?.code ?? '');
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'rx-smtp-readme-cli-'));
      writeFileSync(join(dir, 'message.txt'), 'Hello Bob and Carol,\nthe report is attached.\n');
      writeFileSync(join(dir, 'report.pdf'), REPORT);
      writeFileSync(join(dir, 'message.eml'), 'From: a@example.test\nTo: b@example.test\nSubject: as is\n\n.a leading dot\n');
      writeFileSync(join(dir, 'mails.jsonl'), `${MAILS.map((m) => JSON.stringify(m)).join('\n')}\n`);
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    /** Runs the README's command that starts with the words `start` (as written), its hosts mapped to `server`, in the scratch directory. */
    async function run(start: string, server: ExampleServer): Promise<CliRun> {
      const command = commands.find((c) => c.text === start || c.text.startsWith(`${start} `));
      if (command === undefined) throw new Error(`the README has no command starting with ${JSON.stringify(start)}`);
      return runCommand(command, server, dir);
    }

    it('has the six command lines the tests below run', () => {
      expect(commands.map((c) => c.argv.slice(0, 2).join(' '))).to.deep.equal(['rx-smtp probe', 'rx-smtp probe', 'rx-smtp send', 'rx-smtp send', 'rx-smtp send', 'rx-smtp send']);
    });

    it('probe: greeting, TLS with the certificate verified, capabilities, AUTH mechanisms; no login', async () => {
      const server = await servers.start();
      const result = await run('rx-smtp probe smtp://mail.example.com:587', server);

      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^tls: +TLSv1\.3 \S+ \(STARTTLS, certificate verified\)$/m).and.match(/^auth: +(LOGIN PLAIN|PLAIN LOGIN)$/m);
      expect(server.auths).to.deep.equal([]);
    });

    it('probe --user: logs in with the password from RX_SMTP_PASSWORD, sends nothing', async () => {
      const server = await servers.start();
      const result = await run('RX_SMTP_PASSWORD=... rx-smtp probe', server);

      expect(result.code, result.stderr).to.equal(0);
      expect(server.auths).to.deep.equal(['PLAIN alice']);
      expect(server.messages).to.deep.equal([]);
    });

    it('send with a body file, an attachment and a header, to two recipients written with names', async () => {
      const server = await servers.start();
      const result = await run('RX_SMTP_PASSWORD=... rx-smtp send', server);

      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^sent to bob@example\.com, carol@example\.com: 250 /);
      const [message] = server.messages;
      expect([server.messages.length, message!.from, message!.to, message!.user]).to.deep.equal([1, 'alice@example.com', ['bob@example.com', 'carol@example.com'], 'alice']);
      const raw = message!.raw.toString();
      expect(raw).to.match(/^From: Alice <alice@example\.com>$/m).and.match(/^Subject: hello$/m).and.match(/^X-Campaign: spring$/m);
      expect(raw).to.include('Hello Bob and Carol,\r\nthe report is attached.').and.match(/filename=report\.pdf/);
      expect(raw.replace(/\r\n/g, '')).to.include(REPORT.toString('base64'));
    });

    it('send --data: the message file as it is (CRLF line endings, the leading dot kept)', async () => {
      const server = await servers.start();
      const result = await run('rx-smtp send --server smtp://localhost:2525 --from a@example.test --to b@example.test --data', server);

      expect(result.code, result.stderr).to.equal(0);
      expect(server.messages.map((m) => m.raw.toString())).to.deep.equal(['From: a@example.test\r\nTo: b@example.test\r\nSubject: as is\r\n\r\n.a leading dot\r\n']);
    });

    it('send --count 1000: a thousand copies through a pool, one line each and a summary', async () => {
      const server = await servers.start();
      const result = await run('rx-smtp send --server smtp://localhost:2525 --from a@example.test --to b@example.test --count', server);

      expect(result.code, result.stderr).to.equal(0);
      expect(server.messages).to.have.length(1000);
      expect(result.stdout).to.match(/^1000 sent, 0 failed in /m);
    });

    it('send --mails: one mail per line, each outcome naming its line, the conversation on standard error', async () => {
      const server = await servers.start();
      const result = await run('rx-smtp send --server smtp://localhost:2525 --mails', server);

      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^sent line 1 /m).and.match(/^sent line 2 /m);
      expect(result.stderr).to.match(/^\d+ C: MAIL FROM:</m); // each line numbered by its connection
      expect(server.messages.map((m) => [m.from, m.to])).to.have.deep.members(MAILS.map((m) => [m.from, [m.to]]));
    });
  });
});

const REPORT = Buffer.from('%PDF-1.4\n% a test report\n%%EOF\n');
const MAILS = [
  { from: 'a@example.test', to: 'b@example.test', subject: 'first', body: 'one' },
  { from: 'a@example.test', to: 'c@example.test', subject: 'second', body: 'two' },
];

/** A README command line run through the built CLI: its servers mapped to `server`, `...` in an assignment the test password. */
function runCommand(command: ShellCommand, server: ExampleServer, cwd: string): Promise<CliRun> {
  const [program, ...args] = command.argv;
  expect(program).to.equal('rx-smtp');
  const mapped = args.map((arg) => arg.replace(/^smtp:\/\/(mail\.example\.com:587|localhost:2525)$/, server.url));
  const env = Object.fromEntries(Object.entries(command.env).map(([name, value]) => [name, value === '...' ? PASSWORD : value]));
  return runCli(mapped, { env: { ...env, NODE_EXTRA_CA_CERTS: CA_PEM }, cwd });
}

/** `npm start`, as the README's first command runs it. */
function npmStart(): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
