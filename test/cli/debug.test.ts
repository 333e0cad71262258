import { expect } from 'chai';
import { checkLeaks } from '../fixtures/handles';
import { PASSWORD, type SmtpServerFixture, USER } from '../fixtures/smtp-server';
import { runCli, sendArgs, startTlsSmtpServer, withBuiltCli } from './run';

describe('NODE_DEBUG=rx-smtp', () => {
  let server: SmtpServerFixture;
  beforeEach(async () => (server = await startTlsSmtpServer()));
  afterEach(() => server.close());
  checkLeaks();
  withBuiltCli();

  const send = (): string[] => sendArgs(server.port, '--from', 'a@example.com', '--to', 'b@example.com');
  const plainAuth = Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64');

  it('logs the state transitions and the transcript through util.debuglog, the AUTH payload redacted', async () => {
    const run = await runCli(send(), { env: { RX_SMTP_PASSWORD: PASSWORD, NODE_DEBUG: 'rx-smtp' } });

    expect(run.code, run.stderr).to.equal(0);
    const log = run.stderr.split('\n').filter((l) => l.startsWith('RX-SMTP '));
    const body = log.map((l) => l.replace(/^RX-SMTP \d+: /, ''));
    expect(body.slice(0, 2)).to.deep.equal(['session 1 state idle', `session 1 state connecting localhost:${server.port}`]);
    expect(body).to.include('session 1 C: STARTTLS');
    expect(body).to.include('session 1 C: AUTH PLAIN [redacted]');
    expect(body.find((l) => l.startsWith('session 1 state connected '))).to.match(/TLSv1\.[23] \S+ PLAIN$/);
    expect(body).to.include('session 1 C: QUIT');
    expect(body.at(-1)).to.match(/^session 1 state closed/);
    expect(run.stderr).to.not.contain(plainAuth);
    expect(run.stderr).to.not.contain(PASSWORD);
  });

  it('logs nothing without NODE_DEBUG', async () => {
    const run = await runCli(send(), { env: { RX_SMTP_PASSWORD: PASSWORD } });

    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.equal('');
  });
});
