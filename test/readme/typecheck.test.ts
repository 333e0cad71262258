import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ROOT } from '../fixtures/build';
import { readmeBlocks } from './blocks';

const run = promisify(execFile);

/** Names a fragment may use without defining them: what the reader's program would have. None is a fragment today. */
const FRAGMENT_CONTEXT = `import type { Mail as _Mail, SmtpPool as _Pool, SmtpSession as _Session } from '../../lib';
declare const mail: _Mail;
declare const mails: _Mail[];
declare const session: _Session;
declare const pool: _Pool;
declare const server: string;`;

// The README is for users: every TypeScript block in it is a whole program that a test runs
// (session-examples, pool-examples), or a fragment marked as such; all of them compile against the
// library as it is, each as its own module.
describe('README examples: every block compiles, and every example has a test', function () {
  this.timeout(120_000);
  const blocks = readmeBlocks().filter((b) => b.lang === 'ts');

  it('marks every TypeScript block as an example (run by a test) or a fragment, each name once', () => {
    expect(blocks.filter((b) => b.marker === undefined).map((b) => `line ${b.line}`)).to.deep.equal([]);
    const names = blocks.map((b) => b.marker!.name);
    expect(names).to.deep.equal([...new Set(names)]);
    expect(blocks.filter((b) => b.marker!.kind === 'fragment').map((b) => b.marker!.name)).to.deep.equal([]);
  });

  it('runs every example in a test of test/readme/', () => {
    const tests = readdirSync(__dirname)
      .filter((file) => file.endsWith('.test.ts'))
      .map((file) => readFileSync(join(__dirname, file), 'utf8'))
      .join('\n');
    const untested = blocks.filter((b) => b.marker?.kind === 'example' && !tests.includes(`exampleCode('${b.marker.name}')`));
    expect(untested.map((b) => b.marker!.name)).to.deep.equal([]);
  });

  it('typechecks each block as its own module', async () => {
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, '.tmp', 'readme-'));
    try {
      blocks.forEach((block, i) => {
        const code = block.code.replaceAll("from 'rx-smtp/nodemailer'", "from '../../lib/nodemailer'").replaceAll("from 'rx-smtp'", "from '../../lib'");
        const context = block.marker?.kind === 'fragment' ? `${FRAGMENT_CONTEXT}\n` : '';
        writeFileSync(join(dir, `${block.marker?.name ?? 'block'}-${i}.ts`), `${context}${code}\nexport {};\n`);
      });
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true, noUnusedLocals: false }, include: ['*.ts'] }),
      );
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')]).catch((e: { stdout: string }) => e);
      expect(result.stdout).to.equal('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
