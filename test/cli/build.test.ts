import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ROOT } from '../fixtures/build';
import { withBuiltCli } from './run';

const run = promisify(execFile);

// What `npm run build` produces for the package's "bin".
describe('rx-smtp as built by tsconfig.build.json', () => {
  withBuiltCli();

  it('is the file package.json names as bin, starting with a node shebang', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['rx-smtp']).to.equal('dist/cli/main.js');
    expect(readFileSync(join(ROOT, 'dist', 'cli', 'main.js'), 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env node');
  });

  it('runs under plain node and prints the usage for --help', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), '--help']);

    expect(stdout).to.match(/^Usage:\n {2}rx-smtp send /);
  });
});
