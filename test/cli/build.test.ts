import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { builtCli, runBuiltCli } from './run';

const ROOT = join(__dirname, '..', '..');

// What `npm run build` produces for the package's "bin" (compiled once per test process by builtCli()).
describe('rx-smtp as built by tsconfig.build.json', function () {
  this.timeout(120_000);
  let out: string;

  before(async () => {
    out = await builtCli();
  });

  it('is the file package.json names as bin, starting with a node shebang', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['rx-smtp']).to.equal('dist/cli/main.js');
    expect(readFileSync(join(out, 'cli', 'main.js'), 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env node');
  });

  it('runs under plain node and prints the usage for --help', async () => {
    const { code, stdout } = await runBuiltCli(['--help']);

    expect(code).to.equal(0);
    expect(stdout).to.match(/^Usage:\n {2}rx-smtp send /);
  });
});
