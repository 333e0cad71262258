import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { checkLeaks } from '../fixtures/handles';
import { type SharedServer, postfixMissing, startPostfix } from '../fixtures/postfix';
import { PASSWORD, USER } from '../fixtures/smtp-server';
import { runCli, withBuiltCli } from './run';

// The built CLI against a server nobody here wrote: Postfix, STARTTLS, AUTH after TLS only.
describe('rx-smtp against Postfix', function () {
  this.timeout(60_000);
  let postfix: SharedServer | null = null;
  let dir: string;
  let delivered = 0;
  const env = { RX_SMTP_PASSWORD: PASSWORD };

  before(async function () {
    postfix = await startPostfix();
    if (postfix === null) {
      console.warn(`    CLI Postfix tests skipped: ${postfixMissing()}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'rx-smtp-cli-postfix-'));
    writeFileSync(join(dir, 'ca.pem'), postfix.ca);
  });
  after(async () => {
    await postfix?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  checkLeaks();
  withBuiltCli();

  const server = (): string[] => ['--server', `smtp://localhost:${postfix!.port}`, '--ca', join(dir, 'ca.pem'), '--user', USER];

  it('sends a message with headers and an attachment over STARTTLS, authenticated, stored byte for byte', async () => {
    const attachment = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31) % 256));
    writeFileSync(join(dir, 'data.bin'), attachment);
    const args = ['send', ...server(), '--from', 'Alice <alice@example.test>', '--to', 'Bob <bob@example.test>, carol@example.test'];
    const run = await runCli([...args, '--header', 'X-Campaign: interop', '--body', 'Hello Postfix', '--attach', join(dir, 'data.bin')], { env });

    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^sent to bob@example\.test, carol@example\.test: 250 2\.0\.0 Ok: .*queued as \w+\n$/);
    const { eml, json } = await postfix!.mail(++delivered);
    expect(json).to.include({ mail_from: 'alice@example.test', sasl_username: USER });
    expect(json.rcpt_tos).to.deep.equal(['bob@example.test', 'carol@example.test']);
    const text = eml.toString('latin1');
    expect(text).to.contain('X-Campaign: interop\r\n');
    expect(text).to.contain('To: Bob <bob@example.test>, carol@example.test\r\n');
    const part = /filename=data\.bin\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n--/.exec(text);
    expect(Buffer.from(part![1]!.replace(/\r\n/g, ''), 'base64').equals(attachment)).to.equal(true);
  });

  it('reports a refused recipient (550 5.1.1) and a deferred one (450 4.2.1), and exits with the worse', async () => {
    const run = await runCli(['send', ...server(), '--from', 'alice@example.test', '--to', 'bob@example.test, reject@example.test, defer@example.test'], { env });

    expect(run.code).to.equal(69);
    expect(run.stderr).to.match(/^rx-smtp: refused reject@example\.test: 550 5\.1\.1 /m);
    expect(run.stderr).to.match(/^rx-smtp: refused defer@example\.test: 450 4\.2\.1 /m);
    const { json } = await postfix!.mail(++delivered);
    expect(json.rcpt_tos).to.deep.equal(['bob@example.test']);
  });

  it('--count sends copies through a pool and reports refused recipients of each, exiting non-zero', async () => {
    const run = await runCli(['send', ...server(), '--from', 'alice@example.test', '--to', 'bob@example.test, reject@example.test', '--count', '3'], { env });

    expect(run.code).to.equal(69);
    expect(run.stdout.match(/^refused \d\/3 reject@example\.test: 550 5\.1\.1 /gm)).to.have.length(3);
    expect(run.stdout).to.match(/^3 sent, 0 failed, 3 recipients refused in /m);
    for (let i = 0; i < 3; i++) expect((await postfix!.mail(++delivered)).json.rcpt_tos).to.deep.equal(['bob@example.test']);
  });

  it('probe --user checks the password: 0 when accepted, 77 when refused, no mail either way', async () => {
    const ok = await runCli(['probe', `smtp://localhost:${postfix!.port}`, '--ca', join(dir, 'ca.pem'), '--user', USER], { env });
    const bad = await runCli(['probe', `smtp://localhost:${postfix!.port}`, '--ca', join(dir, 'ca.pem'), '--user', USER], { env: { RX_SMTP_PASSWORD: 'wrong' } });

    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/^login: +alice accepted \(PLAIN\)$/m);
    expect(bad.code).to.equal(77);
    expect(bad.stderr).to.match(/^rx-smtp: ESERVERPERM .*535 /);
  });

  it('implicit TLS against Postfix’s STARTTLS port: "no TLS answered", exit 78', async () => {
    const run = await runCli(['probe', `smtps://localhost:${postfix!.port}`, '--ca', join(dir, 'ca.pem')]);

    expect(run.code).to.equal(78);
    expect(run.stderr).to.contain('no TLS answered: is this a STARTTLS port? try --tls starttls');
  });
});
