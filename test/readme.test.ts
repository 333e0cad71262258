import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

/** Names the README's examples use without defining: what a reader's program would have. */
const CONTEXT = `import type { Mail as _Mail, SmtpPool as _Pool, SmtpSession as _Session } from '../../lib';
declare const password: string;
declare const users: { email: string }[];
declare const render: (user: unknown) => string;
declare const mails: _Mail[];
declare const mail: _Mail;
declare const session: _Session;
declare const pool: _Pool;
declare const server: string;`;

// The README is for users: every TypeScript example in it must compile against the library as it is.
describe('README examples', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    dir = mkdtempSync(join(ROOT, '.tmp', 'readme-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('typecheck, each block as its own module', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([^]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).to.be.at.least(8);
    blocks.forEach((block, i) => {
      const code = block
        .replaceAll("from 'rx-smtp/nodemailer'", "from '../../lib/nodemailer'")
        .replaceAll("from 'rx-smtp/outbox'", "from '../../lib/outbox'").replaceAll("from 'rx-smtp'", "from '../../lib'");
      // A block that defines one of the context's names keeps its own.
      const defined = new Set([...code.matchAll(/(?:const|let|function\*?)\s+(\w+)/g)].map((m) => m[1]));
      const context = CONTEXT.split('\n').filter((line) => !defined.has(/declare const (\w+)/.exec(line)?.[1] ?? ''));
      writeFileSync(join(dir, `block${i}.ts`), `${context.join('\n')}\n${code}\nexport {};\n`);
    });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true, noUnusedLocals: false }, include: ['*.ts'] }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')]).catch((e: { stdout: string }) => e);
    expect(result.stdout).to.equal('');
  });
});
