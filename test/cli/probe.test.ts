import { expect } from 'chai';
import { checkLeaks } from '../fixtures/handles';
import type { SmtpServerFixture } from '../fixtures/smtp-server';
import { CA_FILE, runCli, startTlsSmtpServer, withBuiltCli } from './run';

describe('rx-smtp probe', () => {
  let server: SmtpServerFixture;
  afterEach(() => server.close());
  checkLeaks();
  withBuiltCli();

  it('prints the greeting, TLS protocol, cipher, certificate subject, capabilities and AUTH mechanisms', async () => {
    server = await startTlsSmtpServer({ name: 'mx.test', authMethods: ['PLAIN', 'LOGIN'] });
    const run = await runCli(['probe', `smtp://localhost:${server.port}`, '--ca', CA_FILE]);

    expect(run.code, run.stderr).to.equal(0);
    const lines = run.stdout.split('\n');
    expect(lines).to.include(`server:       localhost:${server.port}`);
    expect(lines).to.include('greeting:     220 mx.test ESMTP');
    expect(lines.find((l) => l.startsWith('tls:'))).to.match(/^tls: +TLSv1\.[23] \S+ \(STARTTLS, certificate verified\)$/);
    expect(lines).to.include('certificate:  CN=localhost');
    expect(lines.find((l) => l.startsWith('before tls:'))).to.contain('STARTTLS');
    expect(lines.find((l) => l.startsWith('capabilities:'))).to.match(/PIPELINING.*AUTH PLAIN LOGIN/);
    expect(lines).to.include('auth:         PLAIN LOGIN');
    expect(run.stderr).to.equal('');
  });

  it('connects without authenticating and QUITs (shown by --verbose)', async () => {
    server = await startTlsSmtpServer();
    const run = await runCli(['probe', `smtp://localhost:${server.port}`, '--ca', CA_FILE, '--verbose']);

    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.not.match(/^C: AUTH/m);
    expect(run.stderr).to.match(/^C: STARTTLS\n/m);
    expect(run.stderr).to.match(/^C: QUIT\nS: 221 /m);
  });

  it('reports implicit TLS for smtps://', async () => {
    server = await startTlsSmtpServer({ secure: true });
    const run = await runCli(['probe', `smtps://localhost:${server.port}`, '--ca', CA_FILE]);

    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^tls: +TLSv1\.[23] \S+ \(implicit, certificate verified\)$/m);
    expect(run.stdout).to.not.match(/^before tls:/m);
  });

  it('stays in plain text with --tls none and shows STARTTLS among the capabilities', async () => {
    server = await startTlsSmtpServer();
    const run = await runCli(['probe', `smtp://localhost:${server.port}`, '--tls', 'none']);

    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^tls: +none$/m);
    expect(run.stdout).to.match(/^capabilities: .*STARTTLS/m);
    expect(run.stdout).to.not.match(/^(certificate|before tls):/m);
  });

  it('exits 69 with the verification error and a hint when the CA is not trusted', async () => {
    server = await startTlsSmtpServer();
    const run = await runCli(['probe', `smtp://localhost:${server.port}`]);

    expect(run.code).to.equal(69);
    expect(run.stdout).to.equal('');
    expect(run.stderr).to.match(/^rx-smtp: UNABLE_TO_VERIFY_LEAF_SIGNATURE .*\(to trust a private CA, pass --ca FILE\)\n$/);
  });

  it('exits 66 when the --ca file cannot be read', async () => {
    server = await startTlsSmtpServer();
    const run = await runCli(['probe', `smtp://localhost:${server.port}`, '--ca', 'no-such-ca.pem']);

    expect(run.code).to.equal(66);
    expect(run.stderr).to.match(/^rx-smtp: cannot read no-such-ca\.pem: ENOENT/);
  });
});
