import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const CHILD = join(__dirname, 'memory-child.ts');

/** Two runs three times apart: what a call keeps per mail shows as the difference of their heap growth. */
const SHORT_RUN = 20_000;
const LONG_RUN = 60_000;
/**
 * The most heap a mail may leave behind until its call ends. The core before the fix kept each
 * mail's result, mail and body: 1,906 bytes a mail here (39.0 MB after 20,000 mails, 115.2 MB after
 * 60,000). Now the difference between the runs is noise (measured in five pairs of runs: -13 to 0
 * bytes a mail, about half a megabyte of collector slack over 40,000 mails). 100 bytes is far above
 * that noise and far below anything kept per mail.
 */
const MAX_BYTES_PER_MAIL = 100;

/** Heap growth of one child run of `mails` mails (see memory-child.ts). */
async function heapGrowth(mails: number): Promise<{ heapGrowth: number; ms: number }> {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD, String(mails)], { cwd: join(__dirname, '..', '..') });
  return JSON.parse(stdout) as { heapGrowth: number; ms: number };
}

// Issue 10, defect 12: a sendAll of 200,000 1 KB mails grew the heap 1.7 KB a mail (340 MB), every
// result kept for SendAllError.delivered. A call now keeps positions (as runs), not results or bodies.
describe('send: a long sendAll runs in constant memory', function () {
  this.timeout(180_000);

  it(`the heap grows by less than ${MAX_BYTES_PER_MAIL} bytes a mail between ${SHORT_RUN} and ${LONG_RUN} 1 KB mails on one session`, async () => {
    const short = await heapGrowth(SHORT_RUN);
    const long = await heapGrowth(LONG_RUN);
    const perMail = (long.heapGrowth - short.heapGrowth) / (LONG_RUN - SHORT_RUN);
    expect(perMail, `heap growth ${short.heapGrowth} B over ${SHORT_RUN} mails, ${long.heapGrowth} B over ${LONG_RUN}`).to.be.below(MAX_BYTES_PER_MAIL);
  });
});
