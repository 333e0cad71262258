import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { PASSWORD, USER } from '../fixtures/smtp-server';
import { CA_FILE, cliSuite, headAndBody, runCli, sendArgs } from './run';

// What people use swaks for, through the built rx-smtp, against smtp-server in this process.
describe('rx-smtp send and probe, the options swaks users reach for', () => {
  const suite = cliSuite();
  const env = { RX_SMTP_PASSWORD: PASSWORD };
  const send = (...extra: string[]): string[] => sendArgs(suite.server.port, '--from', 'a@example.com', '--to', 'b@example.com', ...extra);


  it('--header adds headers (repeatable) and replaces Subject', async () => {
    const run = await runCli(send('--header', 'X-Campaign: spring', '--header', 'X-Tag: a', '--header', 'X-Tag: b', '--header', 'Subject: from a header'), { env });

    expect(run.code, run.stderr).to.equal(0);
    const lines = headAndBody(suite.server.messages[0]!.raw)[0].split('\r\n');
    expect(lines).to.include.members(['X-Campaign: spring', 'X-Tag: a', 'X-Tag: b', 'Subject: from a header']);
    expect(lines.filter((l) => l.startsWith('Subject:'))).to.have.length(1);
  });

  it('--attach FILE (repeatable) sends each file as a base64 part, byte for byte', async () => {
    const pdf = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13) % 256));
    writeFileSync(join(suite.dir, 'report.pdf'), pdf);
    writeFileSync(join(suite.dir, 'notes.txt'), 'notes\n');
    const run = await runCli(send('--body', 'see attached', '--attach', join(suite.dir, 'report.pdf'), '--attach', join(suite.dir, 'notes.txt')), { env });

    expect(run.code, run.stderr).to.equal(0);
    const raw = suite.server.messages[0]!.raw.toString('latin1');
    expect(raw).to.match(/\r\nContent-Type: multipart\/mixed; boundary=/);
    const part = /Content-Type: application\/pdf; name=report\.pdf\r\n[^]*?\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n--/.exec(raw);
    expect(Buffer.from(part![1]!.replace(/\r\n/g, ''), 'base64').equals(pdf)).to.equal(true);
    expect(raw).to.contain('filename=notes.txt');
  });

  it('exits 66 before connecting when an --attach file cannot be read', async () => {
    const run = await runCli(send('--attach', join(suite.dir, 'missing.pdf')), { env });

    expect(run.code).to.equal(66);
    expect(run.stderr).to.match(/^rx-smtp: cannot read .*missing\.pdf: ENOENT/);
    expect(suite.server.messages).to.deep.equal([]);
  });

  it('--data FILE sends the message as it is (line endings made CRLF), the envelope from --from and --to', async () => {
    writeFileSync(join(suite.dir, 'message.eml'), 'From: someone@elsewhere.example\nSubject: raw\nX-Kept: yes\n\n.a dot line\nbody\n');
    const run = await runCli(send('--data', join(suite.dir, 'message.eml')), { env });

    expect(run.code, run.stderr).to.equal(0);
    expect(suite.server.messages[0]!.raw.toString()).to.equal('From: someone@elsewhere.example\r\nSubject: raw\r\nX-Kept: yes\r\n\r\n.a dot line\r\nbody\r\n');
    expect(suite.server.messages[0]).to.include({ from: 'a@example.com' });
  });

  it('--data - reads the message from standard input', async () => {
    const run = await runCli(send('--data', '-'), { env, stdin: 'Subject: piped\r\n\r\nhi\r\n' });

    expect(run.code, run.stderr).to.equal(0);
    expect(suite.server.messages[0]!.raw.toString()).to.equal('Subject: piped\r\n\r\nhi\r\n');
  });

  it('takes names and comma-separated lists in --to and --from: the envelope gets the addresses, the headers the text', async () => {
    const args = sendArgs(suite.server.port, '--from', 'Alice <a@example.com>', '--to', 'Bob <b@example.com>, "Doe, John" <j@example.com>', '--to', 'c@example.com');
    const run = await runCli(args, { env });

    expect(run.code, run.stderr).to.equal(0);
    const [message] = suite.server.messages;
    expect(message).to.include({ from: 'a@example.com' });
    expect(message!.to).to.deep.equal(['b@example.com', 'j@example.com', 'c@example.com']);
    const head = headAndBody(message!.raw)[0];
    expect(head).to.contain('From: Alice <a@example.com>');
    expect(head).to.contain('To: Bob <b@example.com>, "Doe, John" <j@example.com>, c@example.com');
  });

  it('--ehlo NAME is the EHLO name', async () => {
    let name = '';
    await suite.restart({ onMailFrom: (_a, session, cb) => ((name = session.hostNameAppearsAs), cb()) });
    const run = await runCli(send('--ehlo', 'client.example.test'), { env });

    expect(run.code, run.stderr).to.equal(0);
    expect(name).to.equal('client.example.test');
  });

  it('--auth MECH uses that mechanism', async () => {
    const run = await runCli(send('--auth', 'login', '--verbose'), { env });

    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.match(/^C: AUTH LOGIN/m);
  });

  it('--port overrides the URL’s port', async () => {
    const args = ['send', '--server', 'smtp://localhost:1', '--port', String(suite.server.port), '--ca', CA_FILE, '--from', 'a@example.com', '--to', 'b@example.com'];
    const run = await runCli(args);

    expect(run.code, run.stderr).to.equal(0);
    expect(suite.server.messages).to.have.length(1);
  });

  it('-4 connects over IPv4 and still verifies the certificate against the name', async () => {
    const run = await runCli(send('-4'), { env });

    expect(run.code, run.stderr).to.equal(0);
    expect(suite.server.messages[0]).to.include({ secure: true, user: USER });
  });

  it('-6 connects over IPv6 only: a server on 127.0.0.1 is not reached', async () => {
    const run = await runCli(send('-6'), { env });

    expect(run.code).to.not.equal(0);
    expect(run.stderr).to.match(/^rx-smtp: (ECONNREFUSED|EADDRNOTAVAIL|ENETUNREACH|ENOTFOUND|EAI_ADDRFAMILY|EAI_NONAME|EAI_AGAIN) /);
    expect(suite.server.messages).to.deep.equal([]);
  });

  it('--insecure skips certificate verification, and says so loudly', async () => {
    const args = ['send', '--server', `smtp://localhost:${suite.server.port}`, '--insecure', '--user', USER, '--from', 'a@example.com', '--to', 'b@example.com'];
    const run = await runCli(args, { env });

    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.match(/^rx-smtp: WARNING: --insecure: the server's certificate is NOT verified/);
    expect(suite.server.messages[0]).to.include({ secure: true });
  });

  it('--allow-insecure-auth logs in without TLS (--tls none)', async () => {
    await suite.restart({ allowInsecureAuth: true });
    const run = await runCli(send('--tls', 'none', '--allow-insecure-auth'), { env });

    expect(run.code, run.stderr).to.equal(0);
    expect(suite.server.messages[0]).to.include({ secure: false, user: USER });
  });

  it('--tls none --user without --allow-insecure-auth is a usage error naming the flag, before connecting', async () => {
    const run = await runCli(send('--tls', 'none'), { env });

    expect(run.code).to.equal(64);
    expect(run.stderr).to.contain('add --allow-insecure-auth');
    expect(run.stderr).to.not.contain('allowInsecureAuth');
  });

  it('a server without STARTTLS and --user: exit 77, pointing to the flags, not to a library option', async () => {
    await suite.restart({ hideSTARTTLS: true, allowInsecureAuth: true });
    const run = await runCli(send(), { env });

    expect(run.code).to.equal(77);
    expect(run.stderr).to.match(/^rx-smtp: ENOTSUP the connection has no TLS .*--allow-insecure-auth for a test server\n$/);
    expect(run.stderr).to.not.contain('allowInsecureAuth');
  });

  it('implicit TLS against a plain-text port: "no TLS answered", exit 78', async () => {
    const run = await runCli(send('--tls', 'implicit'), { env });

    expect(run.code).to.equal(78);
    expect(run.stderr).to.match(/^rx-smtp: \S+: no TLS answered: is this a STARTTLS port\? try --tls starttls\n$/);
  });

  it('--protocol lmtp speaks LMTP (LHLO) to a delivery agent', async () => {
    await suite.restart({ lmtp: true, hideSTARTTLS: true });
    const run = await runCli(['send', '--server', `smtp://127.0.0.1:${suite.server.port}`, '--protocol', 'lmtp', '--from', 'a@example.com', '--to', 'b@example.com', '--verbose']);

    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.match(/^C: LHLO /m);
    expect(suite.server.messages).to.have.length(1);
  });

  describe('probe --user', () => {
    it('logs in, says which mechanism was accepted, sends no mail and exits 0', async () => {
      const run = await runCli(['probe', `smtp://localhost:${suite.server.port}`, '--ca', CA_FILE, '--user', USER, '--verbose'], { env });

      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.match(/^login: +alice accepted \(PLAIN\)$/m);
      expect(run.stderr).to.match(/^C: AUTH PLAIN \[redacted\]\nS: 235 /m);
      expect(run.stderr).to.match(/^C: QUIT$/m);
      expect(run.stderr).to.not.match(/^C: MAIL/m);
    });

    it('exits 77 when the password is refused', async () => {
      const run = await runCli(['probe', `smtp://localhost:${suite.server.port}`, '--ca', CA_FILE, '--user', USER], { env: { RX_SMTP_PASSWORD: 'wrong' } });

      expect(run.code).to.equal(77);
      expect(run.stderr).to.match(/^rx-smtp: ESERVERPERM .*535 /);
    });

    it('reads the password from --password-file', async () => {
      writeFileSync(join(suite.dir, 'pw'), `${PASSWORD}\n`);
      const run = await runCli(['probe', `smtp://localhost:${suite.server.port}`, '--ca', CA_FILE, '--user', USER, '--password-file', join(suite.dir, 'pw')]);

      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.match(/^login: +alice accepted/m);
    });
  });
});
