import { expect } from 'chai';
import { checkLeaks } from '../fixtures/handles';
import type { ScriptedServer } from '../fixtures/scripted-server';
import { defaultServer } from '../fixtures/default-server';
import { runCli, withBuiltCli } from './run';

describe('rx-smtp usage', () => {
  let server: ScriptedServer;
  beforeEach(async () => (server = await defaultServer()));
  afterEach(() => server.close());
  checkLeaks();
  withBuiltCli();

  const send = (...extra: string[]): string[] => [
    'send',
    '--server',
    `smtp://127.0.0.1:${server.port}`,
    '--from',
    'a@example.com',
    '--to',
    'b@example.com',
    ...extra,
  ];

  it('exits 64 with one line when no command is given', async () => {
    const run = await runCli([]);

    expect(run.code).to.equal(64);
    expect(run.stderr).to.equal('rx-smtp: usage error: no command given (rx-smtp --help lists the options)\n');
  });

  it('exits 64 for a missing --to, without connecting', async () => {
    const run = await runCli(['send', '--server', `smtp://127.0.0.1:${server.port}`, '--from', 'a@example.com']);

    expect(run.code).to.equal(64);
    expect(run.stderr).to.equal('rx-smtp: usage error: --to is required (rx-smtp --help lists the options)\n');
    expect(server.connections).to.equal(0);
  });

  it('refuses --password with exit 64, saying why and what to use instead, without connecting', async () => {
    const run = await runCli(send('--user', 'alice', '--password', 's3cret'));

    expect(run.code).to.equal(64);
    expect(run.stderr).to.match(/^rx-smtp: usage error: --password is not accepted: a password on the command line lands in shell history/);
    expect(run.stderr).to.contain('--password-file FILE, the RX_SMTP_PASSWORD environment variable, or the prompt');
    expect(run.stderr).to.not.contain('s3cret');
    expect(server.connections).to.equal(0);
  });

  it('exits 64 when --user has no password source and standard input is not a terminal', async () => {
    const run = await runCli(send('--user', 'alice'));

    expect(run.code).to.equal(64);
    expect(run.stderr).to.contain('--user needs a password');
    expect(server.connections).to.equal(0);
  });

  it('exits 64 for a server URL the library refuses (EINVAL)', async () => {
    const run = await runCli(['probe', 'ftp://mx.example.com']);

    expect(run.code).to.equal(64);
    expect(run.stderr).to.equal('rx-smtp: EINVAL unsupported URL scheme "ftp:": use smtp:// or smtps://\n');
  });

  it('exits 64 for a recipient that is not an address, sending nothing', async () => {
    const run = await runCli(['send', '--server', `smtp://127.0.0.1:${server.port}`, '--from', 'a@example.com', '--to', 'not an address']);

    expect(run.code).to.equal(64);
    expect(run.stderr).to.equal('rx-smtp: usage error: --to "not an address" is not an address: "not an address" has no @ (rx-smtp --help lists the options)\n');
    expect(server.connections).to.equal(0);
  });

  it('prints the usage on stdout and exits 0 for --help', async () => {
    const run = await runCli(['--help']);

    expect(run.code).to.equal(0);
    expect(run.stdout).to.match(/^Usage:\n {2}rx-smtp send --server/);
    expect(run.stdout).to.contain('--password-file FILE');
  });

  it('prints the version for --version', async () => {
    const run = await runCli(['--version']);

    expect(run.code).to.equal(0);
    expect(run.stdout).to.match(/^rx-smtp \d+\.\d+\.\d+\n$/);
  });
});
