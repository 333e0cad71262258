import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { parseCommandLine, type SendCommand } from '../../lib/cli/args';
import { resolveConnection } from '../../lib/cli/connect';
import type { CliIo } from '../../lib/cli/io';
import { CA_FILE } from './run';

function io(): { io: CliIo; stderr: () => string } {
  const err = new PassThrough();
  let text = '';
  err.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  return { io: { stdin: new PassThrough(), stdout: new PassThrough(), stderr: err, env: {} }, stderr: () => text };
}

const command = (...extra: string[]) => parseCommandLine(['send', '--from', 'a@example.com', '--to', 'b@example.com', ...extra]) as SendCommand;

describe('rx-smtp connection options', () => {
  it('gives the session --timeout in milliseconds, --ehlo, --protocol lmtp, --auth and --allow-insecure-auth', async () => {
    const { options } = await resolveConnection(command('--server', 'mx.example', '--timeout', '2m', '--ehlo', 'c.example', '--protocol', 'lmtp', '--user', 'u', '--auth', 'plain', '--allow-insecure-auth'), io().io);
    expect(options).to.deep.equal({ timeout: 120_000, clientName: 'c.example', lmtp: true, authMechanisms: ['PLAIN'], allowInsecureAuth: true });
  });

  it('takes --port over the URL’s, and keeps an smtps:// URL’s implicit TLS on any port', async () => {
    expect(await resolveConnection(command('--server', 'smtp://mx.example:25', '--port', '2525'), io().io)).to.deep.equal({ server: { host: 'mx.example', port: 2525 }, options: {}, implicitTls: false });
    const smtps = await resolveConnection(command('--server', 'smtps://mx.example:4650'), io().io);
    expect(smtps).to.deep.include({ options: { tls: 'implicit' }, implicitTls: true });
  });

  it('-4 resolves the name to its IPv4 address and keeps the name for the certificate (and SNI)', async () => {
    const { server, options } = await resolveConnection(command('--server', 'smtp://localhost:2525', '-4'), io().io);
    expect(server).to.deep.equal({ host: '127.0.0.1', port: 2525 });
    expect(options.tlsOptions).to.deep.equal({ servername: 'localhost' });
  });

  it('--ca adds to the system’s roots rather than replacing them', async () => {
    const { options } = await resolveConnection(command('--server', 'mx.example', '--ca', CA_FILE), io().io);
    const ca = options.tlsOptions!.ca as string[];
    expect(ca.length).to.be.greaterThan(100);
    expect(ca.at(-1)).to.contain('BEGIN CERTIFICATE');
  });

  it('--insecure turns verification off and warns on standard error', async () => {
    const out = io();
    const { options } = await resolveConnection(command('--server', 'mx.example', '--insecure'), out.io);
    expect(options.tlsOptions).to.deep.equal({ rejectUnauthorized: false });
    expect(out.stderr()).to.match(/^rx-smtp: WARNING: --insecure/);
  });
});
