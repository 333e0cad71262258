import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

// `npm run docs` is the API reference: every export of both entry points documented, every link
// resolving (typedoc.json's validation), with the pinned TypeScript. Checked without writing docs/.
describe('API reference (TypeDoc)', function () {
  this.timeout(120_000);

  it('validates with no warning and no error', async () => {
    const typedoc = join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
    const { stdout, stderr } = await run(process.execPath, [typedoc, '--emit', 'none'], { cwd: ROOT });
    expect(`${stdout}${stderr}`).to.not.match(/warning|error/i);
  });
});
