import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { PASSWORD, USER } from '../fixtures/smtp-server';
import { cliSuite, closedPort, headAndBody, runCli, sendArgs } from './run';

describe('rx-smtp send', () => {
  const suite = cliSuite();
  const env = { RX_SMTP_PASSWORD: PASSWORD };
  const send = (...extra: string[]): string[] => sendArgs(suite.server.port, '--from', 'a@example.com', '--to', 'b@example.com', ...extra);


  it('sends the message over STARTTLS, authenticated, and exits 0', async () => {
    const run = await runCli(send('--to', 'c@example.com', '--subject', 'Quarterly report'), { env });

    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.equal('sent to b@example.com, c@example.com: 250 Ok: queued\n');
    expect(suite.server.messages).to.have.length(1);
    const [message] = suite.server.messages;
    expect(message).to.include({ from: 'a@example.com', user: USER, secure: true });
    expect(message!.to).to.deep.equal(['b@example.com', 'c@example.com']);
  });

  it('writes From, To, Subject, Date, Message-ID, MIME-Version, Content-Type and the --body @FILE', async () => {
    writeFileSync(join(suite.dir, 'body.txt'), 'Hello,\nthe numbers are in.\n');
    const run = await runCli(send('--subject', 'Quarterly report', '--body', `@${join(suite.dir, 'body.txt')}`), { env });

    expect(run.code, run.stderr).to.equal(0);
    const [head, body] = headAndBody(suite.server.messages[0]!.raw);
    expect(head.split('\r\n')).to.include.members(['From: a@example.com', 'To: b@example.com', 'Subject: Quarterly report', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8']);
    expect(head).to.match(/(^|\r\n)Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000(\r\n|$)/);
    expect(head).to.match(/(^|\r\n)Message-ID: <[0-9a-f-]{36}@example\.com>(\r\n|$)/);
    expect(body).to.equal('Hello,\r\nthe numbers are in.\r\n');
  });

  it('sends --body TEXT as the text itself', async () => {
    const run = await runCli(send('--body', 'a literal body'), { env });

    expect(run.code, run.stderr).to.equal(0);
    expect(headAndBody(suite.server.messages[0]!.raw)[1]).to.equal('a literal body\r\n');
  });

  it('reads the body from standard input with --body -', async () => {
    const run = await runCli(send('--body', '-'), { env, stdin: 'piped text\n' });

    expect(run.code, run.stderr).to.equal(0);
    expect(headAndBody(suite.server.messages[0]!.raw)[1]).to.equal('piped text\r\n');
  });

  it('prints the transcript live on stderr with --verbose, the AUTH payload redacted', async () => {
    const run = await runCli(send('--verbose'), { env });

    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.match(/^S: 220 .*\nC: EHLO /);
    expect(run.stderr).to.match(/^C: AUTH PLAIN \[redacted\]\nS: 235 /m);
    expect(run.stderr).to.match(/^C: MAIL FROM:<a@example\.com>/m);
    expect(run.stderr).to.not.contain(Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64'));
    expect(run.stdout).to.equal('sent to b@example.com: 250 Ok: queued\n');
  });

  it('takes the password from the first line of --password-file', async () => {
    writeFileSync(join(suite.dir, 'password'), `${PASSWORD}\nignored\n`);
    const run = await runCli(send('--password-file', join(suite.dir, 'password')));

    expect(run.code, run.stderr).to.equal(0);
    expect(suite.server.messages[0]!.user).to.equal(USER);
  });

  it('exits 77 with one line naming the code and the 535 when the password is wrong', async () => {
    const run = await runCli(send(), { env: { RX_SMTP_PASSWORD: 'wrong' } });

    expect(run.code).to.equal(77);
    expect(run.stderr).to.equal('rx-smtp: ESERVERPERM Permanent failure to AUTH PLAIN: 535 Authentication credentials invalid\n');
    expect(suite.server.messages).to.deep.equal([]);
  });

  it('exits 77 when the server offers no mechanism the client can use (ENOTSUP)', async () => {
    await suite.restart({ authMethods: ['XOAUTH2'] });
    const run = await runCli(send(), { env });

    expect(run.code).to.equal(77);
    expect(run.stderr).to.match(/^rx-smtp: ENOTSUP credentials were given but the server offers AUTH XOAUTH2/);
  });

  it('exits 69, not 77, when --tls starttls-required meets a server without STARTTLS (ENOTSUP before AUTH)', async () => {
    await suite.restart({ hideSTARTTLS: true });
    const run = await runCli(send('--tls', 'starttls-required'), { env });

    expect(run.code).to.equal(69);
    expect(run.stderr).to.match(/^rx-smtp: ENOTSUP the server does not offer STARTTLS/);
  });

  it('exits 69 when the server refuses the recipient with a 5xx', async () => {
    await suite.restart({
      onRcptTo: (_address, _session, callback) => callback(Object.assign(new Error('No such user'), { responseCode: 550 })),
    });
    const run = await runCli(send(), { env });

    expect(run.code).to.equal(69);
    expect(run.stderr).to.match(/^rx-smtp: ESERVERPERM .*550 No such user\n$/);
    expect(suite.server.messages).to.deep.equal([]);
  });

  it('exits 75 when the server answers MAIL FROM with a 4xx', async () => {
    await suite.restart({
      onMailFrom: (_address, _session, callback) => callback(Object.assign(new Error('Try again later'), { responseCode: 451 })),
    });
    const run = await runCli(send(), { env });

    expect(run.code).to.equal(75);
    expect(run.stderr).to.match(/^rx-smtp: ESERVERTEMP .*451 Try again later\n$/);
  });

  it('exits 75 with ECONNREFUSED when nothing listens', async () => {
    const port = await closedPort();
    const run = await runCli(['send', '--server', `smtp://127.0.0.1:${port}`, '--from', 'a@example.com', '--to', 'b@example.com']);

    expect(run.code).to.equal(75);
    expect(run.stderr).to.match(/^rx-smtp: ECONNREFUSED .*\n$/);
  });

  it('exits 69 with a hint about --ca when the certificate is not trusted', async () => {
    const args = send();
    args.splice(args.indexOf('--ca'), 2);
    const run = await runCli(args, { env });

    expect(run.code).to.equal(69);
    expect(run.stderr).to.match(/^rx-smtp: UNABLE_TO_VERIFY_LEAF_SIGNATURE .*pass --ca FILE\)\n$/);
    expect(suite.server.messages).to.deep.equal([]);
  });

  it('exits 66 when the --body file cannot be read', async () => {
    const run = await runCli(send('--body', `@${join(suite.dir, 'missing.txt')}`), { env });

    expect(run.code).to.equal(66);
    expect(run.stderr).to.match(/^rx-smtp: cannot read .*missing\.txt: ENOENT/);
    expect(suite.server.messages).to.deep.equal([]);
  });
});
