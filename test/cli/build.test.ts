import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

// What `npm run build` produces for the package's "bin", compiled into a scratch directory under
// .tmp/ (inside the repository, so the compiled CLI still finds node_modules).
describe('rx-smtp as built by tsconfig.build.json', function () {
  this.timeout(120_000);
  let out: string;

  before(async () => {
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    out = mkdtempSync(join(ROOT, '.tmp', 'cli-build-'));
    await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', out], { cwd: ROOT });
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('is the file package.json names as bin, starting with a node shebang', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['rx-smtp']).to.equal('dist/cli/main.js');
    expect(readFileSync(join(out, 'cli', 'main.js'), 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env node');
  });

  it('runs under plain node and prints the usage for --help', async () => {
    const { stdout } = await run(process.execPath, [join(out, 'cli', 'main.js'), '--help']);

    expect(stdout).to.match(/^Usage:\n {2}rx-smtp send /);
  });
});
