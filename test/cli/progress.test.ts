import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import type { CliIo } from '../../lib/cli/io';
import { createProgress } from '../../lib/cli/progress';
import { checkLeaks } from '../fixtures/handles';

/** Collects what the display writes; stdout is a terminal when `tty` says so. */
function output(tty: boolean): { io: CliIo; stdout: () => string; stderr: () => string } {
  const out = Object.assign(new PassThrough(), { isTTY: tty, columns: 120 });
  const err = new PassThrough();
  const text = { out: '', err: '' };
  out.setEncoding('utf8').on('data', (chunk: string) => (text.out += chunk));
  err.setEncoding('utf8').on('data', (chunk: string) => (text.err += chunk));
  const io: CliIo = { stdin: new PassThrough(), stdout: out, stderr: err, env: {} };
  return { io, stdout: () => text.out, stderr: () => text.err };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('rx-smtp progress', () => {
  checkLeaks();

  it('prints one plain line per message, numbered against the total, when not on a terminal', async () => {
    const { io, stdout } = output(false);
    const progress = createProgress(io, 3, () => 0);
    progress.record({ ok: true, to: ['b@example.com'], detail: '250 Ok' });
    progress.record({ ok: false, to: ['c@example.com', 'd@example.com'], detail: 'ESERVERPERM 550 no' });
    await settle();

    expect(stdout()).to.equal('sent 1/3 b@example.com: 250 Ok\nfailed 2/3 c@example.com, d@example.com: ESERVERPERM 550 no\n');
  });

  it('numbers without a total when it is not known (--mails)', async () => {
    const { io, stdout } = output(false);
    createProgress(io, undefined, () => 0).record({ ok: true, to: ['b@example.com'], detail: '250 Ok' });
    await settle();

    expect(stdout()).to.equal('sent 1 b@example.com: 250 Ok\n');
  });

  it('labels each message by its --mails line, and lists its refused recipients after it', async () => {
    const { io, stdout } = output(false);
    const progress = createProgress(io, undefined, () => 0);
    progress.record({ ok: true, label: 'line 7', to: ['b@example.com'], detail: '250 Ok', refused: [{ recipient: 'x@example.com', detail: '550 no such user' }] });
    progress.finish();
    await settle();

    expect(stdout().split('\n').slice(0, 3)).to.deep.equal([
      'sent line 7 b@example.com: 250 Ok',
      'refused line 7 x@example.com: 550 no such user',
      '1 sent, 0 failed, 1 recipients refused in 0.0 s (0.0 messages/s)',
    ]);
    expect(progress.refused).to.equal(1);
  });

  it('ends with the counts, the time and the rate in messages per second', async () => {
    const { io, stdout } = output(false);
    let now = 1_000;
    const progress = createProgress(io, 4, () => now);
    for (const ok of [true, true, true, false]) progress.record({ ok, to: ['b@example.com'], detail: '' });
    now = 3_000;
    progress.finish();
    await settle();

    expect(stdout().split('\n').at(-2)).to.equal('3 sent, 1 failed in 2.0 s (2.0 messages/s)');
    expect([progress.sent, progress.failed]).to.deep.equal([3, 1]);
  });

  it('draws a bar with sent, failed and messages/s on a terminal, then lists the failures on stderr', async () => {
    const { io, stdout, stderr } = output(true);
    let now = 0;
    const progress = createProgress(io, 2, () => now);
    progress.record({ ok: true, to: ['b@example.com'], detail: '250 Ok' });
    progress.record({ ok: false, to: ['c@example.com'], detail: 'ESERVERTEMP 451 later' });
    now = 500;
    progress.finish();
    await settle();

    expect(stdout()).to.match(/2\/2 \| sent 1 \| failed 1 \| 4\.0 messages\/s/);
    expect(stdout()).to.contain('\u001b'); // drawn in place with terminal control sequences
    expect(stdout()).to.not.contain('sent 1/2 b@example.com');
    expect(stderr()).to.equal('failed 2/2 c@example.com: ESERVERTEMP 451 later\n');
    expect(stdout().endsWith('1 sent, 1 failed in 0.5 s (4.0 messages/s)\n')).to.equal(true);
  });
});
