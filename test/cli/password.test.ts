import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import * as sinon from 'sinon';
import { UsageError } from '../../lib/cli/args';
import type { CliIo } from '../../lib/cli/io';
import { promptHidden, resolvePassword } from '../../lib/cli/password';

/** A fake terminal: stdin with isTTY and setRawMode, stderr collected. */
function terminal(tty = true): { io: CliIo; typed: PassThrough; setRawMode: sinon.SinonSpy; shown: () => string } {
  const typed = Object.assign(new PassThrough(), { isTTY: tty, setRawMode: sinon.spy() });
  const stderr = new PassThrough();
  let shown = '';
  stderr.setEncoding('utf8').on('data', (chunk: string) => (shown += chunk));
  const io: CliIo = { stdin: typed, stdout: new PassThrough(), stderr, env: {} };
  return { io, typed, setRawMode: typed.setRawMode, shown: () => shown };
}

describe('rx-smtp password', () => {
  const command = { user: 'alice' } as { user: string; passwordFile?: string };
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rx-smtp-pw-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the prompt in raw mode, without echo, and restores the terminal', async () => {
    const { io, typed, setRawMode, shown } = terminal();
    const password = promptHidden('Password: ', io);
    typed.write('s3cret\r');

    expect(await password).to.equal('s3cret');
    expect(setRawMode.args).to.deep.equal([[true], [false]]);
    await new Promise(setImmediate);
    expect(shown()).to.equal('Password: \n');
  });

  it('takes back a character on Backspace, keyed in pieces', async () => {
    const { io, typed } = terminal();
    const password = promptHidden('Password: ', io);
    typed.write('s3x');
    typed.write('\u007fcret\n');

    expect(await password).to.equal('s3cret');
  });

  it('cancels on Ctrl-C with a UsageError and restores the terminal', async () => {
    const { io, typed, setRawMode } = terminal();
    const password = promptHidden('Password: ', io);
    typed.write('s3\u0003');

    const error = await password.then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(UsageError).with.property('message', 'no password entered');
    expect(setRawMode.lastCall.args).to.deep.equal([false]);
  });

  it('prompts when standard input is a terminal and nothing else gives a password', async () => {
    const { io, typed, shown } = terminal();
    const password = resolvePassword(command, io);
    typed.write('typed\r');

    expect(await password).to.equal('typed');
    await new Promise(setImmediate);
    expect(shown()).to.equal('Password for alice: \n');
  });

  it('prefers RX_SMTP_PASSWORD to the prompt', async () => {
    const { io } = terminal();
    io.env.RX_SMTP_PASSWORD = 'from-env';

    expect(await resolvePassword(command, io)).to.equal('from-env');
  });

  it('prefers the first line of --password-file to RX_SMTP_PASSWORD', async () => {
    const { io } = terminal();
    io.env.RX_SMTP_PASSWORD = 'from-env';
    writeFileSync(join(dir, 'pw'), 'from-file\r\nsecond line\n');

    expect(await resolvePassword({ ...command, passwordFile: join(dir, 'pw') }, io)).to.equal('from-file');
  });

  it('refuses an empty password file', async () => {
    writeFileSync(join(dir, 'pw'), '\nx\n');
    const error = await resolvePassword({ ...command, passwordFile: join(dir, 'pw') }, terminal().io).catch((e: unknown) => e);

    expect(error).to.be.instanceOf(UsageError).with.property('message').that.contains('is empty');
  });

  it('is a UsageError without a terminal, a file or the variable', async () => {
    const error = await resolvePassword(command, terminal(false).io).catch((e: unknown) => e);

    expect(error).to.be.instanceOf(UsageError).with.property('message').that.matches(/--user needs a password: use --password-file FILE or RX_SMTP_PASSWORD/);
  });

  it('is undefined without --user', async () => {
    const { user: _, ...anonymous } = command;
    expect(await resolvePassword(anonymous, terminal().io)).to.equal(undefined);
  });
});
