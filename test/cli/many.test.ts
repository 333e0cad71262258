import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { PASSWORD } from '../fixtures/smtp-server';
import { cliSuite, runCli, sendArgs } from './run';

describe('rx-smtp send --count / --mails', () => {
  const suite = cliSuite();
  const env = { RX_SMTP_PASSWORD: PASSWORD };
  const send = (...extra: string[]): string[] => sendArgs(suite.server.port, ...extra);
  const jsonl = (...lines: string[]): string => {
    const path = join(suite.dir, 'mails.jsonl');
    writeFileSync(path, lines.join('\n'));
    return path;
  };


  it('sends --count 20 and, not on a terminal, prints one plain line per message and a summary', async () => {
    const run = await runCli(send('--from', 'a@example.com', '--to', 'b@example.com', '--count', '20'), { env });

    expect(run.code, run.stderr).to.equal(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).to.have.length(21);
    expect(lines.slice(0, 20)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `sent ${i + 1}/20 b@example.com: 250 Ok: queued`));
    expect(lines[20]).to.match(/^20 sent, 0 failed in \d+\.\d s \(\d+\.\d messages\/s\)$/);
    expect(run.stdout).to.not.contain('\u001b'); // no terminal control sequences in a pipe
    expect(suite.server.messages).to.have.length(20);
  });

  it('gives every copy its own Message-ID', async () => {
    const run = await runCli(send('--from', 'a@example.com', '--to', 'b@example.com', '--count', '3'), { env });

    expect(run.code, run.stderr).to.equal(0);
    const ids = suite.server.messages.map((m) => /\r\nMessage-ID: (<[^>]+>)\r\n/.exec(m.raw.toString())?.[1]);
    expect(new Set(ids).size).to.equal(3);
  });

  it('counts refused messages as failed, lists them, and exits with their status', async () => {
    await suite.restart({
      onRcptTo: (address, _session, callback) =>
        callback(address.address === 'nobody@example.com' ? Object.assign(new Error('No such user'), { responseCode: 550 }) : null),
    });
    const mails = jsonl('{"to":"b@example.com"}', '{"to":"nobody@example.com"}', '{"to":"c@example.com"}');
    const run = await runCli(send('--from', 'a@example.com', '--mails', mails), { env });

    expect(run.code).to.equal(69);
    expect(run.stdout).to.match(/^failed line 2 nobody@example\.com: ESERVERPERM .*550 No such user$/m);
    expect(run.stdout).to.match(/^sent line 1 b@example\.com: 250 /m);
    expect(run.stdout).to.match(/^sent line 3 c@example\.com: 250 /m);
    expect(run.stdout).to.match(/^2 sent, 1 failed in /m);
    expect(run.stderr).to.equal('rx-smtp: 1 of 3 messages failed\n');
    // A pool of connections: completion order, not file order.
    expect(suite.server.messages.map((m) => m.to.join()).sort()).to.deep.equal(['b@example.com', 'c@example.com']);
  });

  it('sends one mail per --mails line, each field falling back to the command line', async () => {
    const mails = jsonl(
      '{"to":"b@example.com","subject":"first","body":"one"}',
      '',
      '{"from":"z@example.com","to":["c@example.com","d@example.com"]}',
    );
    const run = await runCli(send('--from', 'a@example.com', '--subject', 'default', '--mails', mails), { env });

    expect(run.code, run.stderr).to.equal(0);
    const byFrom = [...suite.server.messages].sort((a, b) => a.from.localeCompare(b.from));
    expect(byFrom.map((m) => [m.from, m.to])).to.deep.equal([
      ['a@example.com', ['b@example.com']],
      ['z@example.com', ['c@example.com', 'd@example.com']],
    ]);
    expect(byFrom[0]!.raw.toString()).to.match(/\r\nSubject: first\r\n[^]*\r\n\r\none\r\n$/);
    expect(byFrom[1]!.raw.toString()).to.contain('\r\nSubject: default\r\n');
    expect(run.stdout).to.match(/^2 sent, 0 failed in /m);
  });

  it('checks every --mails line before sending anything: exits 65 naming each bad line, nothing sent', async () => {
    const mails = jsonl(
      '{"to":"b@example.com"}',
      '{"to":"c@example.com","cc":"x@example.com"}',
      '{"to":"d@example.com"}',
      '{"to":"Eve <e@example.com"}',
      'not json',
    );
    const run = await runCli(send('--from', 'a@example.com', '--mails', mails), { env });

    expect(run.code).to.equal(65);
    expect(run.stderr.split('\n').slice(0, 3)).to.deep.equal([
      `rx-smtp: ${mails} line 2: unknown key "cc" (expected from, to, subject, body)`,
      `rx-smtp: ${mails} line 4: a recipient "Eve <e@example.com" is not an address: a < has no matching > (or the reverse)`,
      `rx-smtp: ${mails} line 5: not JSON (Unexpected token 'o', "not json" is not valid JSON)`,
    ]);
    expect(suite.server.messages).to.deep.equal([]);
  });

  it('reports recipients refused in sent messages by line, and exits with their status', async () => {
    await suite.restart({
      onRcptTo: (address, _session, callback) =>
        callback(address.address === 'nobody@example.com' ? Object.assign(new Error('No such user'), { responseCode: 550 }) : null),
    });
    const mails = jsonl('{"to":"b@example.com"}', '{"to":"c@example.com, Nobody <nobody@example.com>"}');
    const run = await runCli(send('--from', 'a@example.com', '--mails', mails), { env });

    expect(run.code).to.equal(69);
    expect(run.stdout).to.match(/^sent line 2 c@example\.com: 250 .*\nrefused line 2 nobody@example\.com: 550 No such user$/m);
    expect(run.stdout).to.match(/^2 sent, 0 failed, 1 recipients refused in /m);
    expect(run.stderr).to.equal('rx-smtp: 1 recipients refused\n');
  });

  it('reports refused recipients of --count copies too, with a non-zero status', async () => {
    await suite.restart({
      onRcptTo: (address, _session, callback) => callback(address.address === 'c@example.com' ? Object.assign(new Error('Mailbox busy'), { responseCode: 450 }) : null),
    });
    const run = await runCli(send('--from', 'a@example.com', '--to', 'b@example.com, c@example.com', '--count', '3'), { env });

    expect(run.code).to.equal(75);
    expect(run.stdout.match(/^refused \d\/3 c@example\.com: 450 Mailbox busy$/gm)).to.have.length(3);
    expect(suite.server.messages.map((m) => m.to)).to.deep.equal([['b@example.com'], ['b@example.com'], ['b@example.com']]);
  });

  it('exits 65 when a --mails line has no sender and there is no --from', async () => {
    const run = await runCli(send('--mails', jsonl('{"to":"b@example.com"}')), { env });

    expect(run.code).to.equal(65);
    expect(run.stderr).to.contain('line 1: "from" is missing (or give --from)');
    expect(suite.server.messages).to.deep.equal([]);
  });

  it('exits 66 when the --mails file cannot be read', async () => {
    const run = await runCli(send('--from', 'a@example.com', '--mails', join(suite.dir, 'missing.jsonl')), { env });

    expect(run.code).to.equal(66);
    expect(run.stderr).to.match(/^rx-smtp: cannot read .*missing\.jsonl: ENOENT/);
  });
});
