import { expect } from 'chai';
import { readmeBlocks, rewrite, shellCommands } from './blocks';
import { expectClean } from './expect-clean';
import { runExample, withBuiltPackage } from './run-example';

// The README tests are only as good as their harness: an example that leaves an error unhandled
// must fail them, a placeholder that left the README must stop its test, and the blocks and shell
// lines must be read as a reader (and a shell) reads them.
describe('README examples: the harness', function () {
  this.timeout(90_000);
  withBuiltPackage();

  it('fails an example that leaves an Observable error unhandled (RxJS rethrows it: exit 1)', async () => {
    const run = await runExample("import { throwError } from 'rxjs';\nthrowError(() => new Error('nobody listens')).subscribe();\n");

    expect(run.code).to.equal(1);
    expect(() => expectClean(run)).to.throw();
  });

  it('fails an example that leaves a rejection unhandled (exit 1)', async () => {
    const run = await runExample("import { lastValueFrom } from 'rxjs';\nimport { createSession } from 'rx-smtp';\nawait lastValueFrom(createSession().connect('smtp://localhost:1'));\n");

    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/ECONNREFUSED/);
    expect(() => expectClean(run)).to.throw();
  });

  it('refuses to rewrite a placeholder the example no longer has', () => {
    expect(rewrite("connect('smtp://a:1')", [['smtp://a:1', 'smtp://b:2']])).to.equal("connect('smtp://b:2')");
    expect(() => rewrite("connect('smtp://a:1')", [['smtp://c:3', 'smtp://b:2']])).to.throw(/no longer contains/);
  });

  it('reads a marked block, and a block without a marker as unmarked', () => {
    const text = 'x\n<!-- example: one -->\n```ts\nconst a = 1;\n```\n\n```sh\nls\n```\n';
    expect(readmeBlocks(text)).to.deep.equal([
      { lang: 'ts', code: 'const a = 1;\n', line: 3, marker: { kind: 'example', name: 'one' } },
      { lang: 'sh', code: 'ls\n', line: 7 },
    ]);
  });

  it('splits shell lines as a shell does: quotes, continuations, &&, assignments, comments', () => {
    const code = "npm install && npm start   # a comment\nRX=1 tool --to 'a, B <b@x>' \\\n  --h \"X: y\"\n";
    expect(shellCommands(code).map((c) => [c.env, c.argv])).to.deep.equal([
      [{}, ['npm', 'install']],
      [{}, ['npm', 'start']],
      [{ RX: '1' }, ['tool', '--to', 'a, B <b@x>', '--h', 'X: y']],
    ]);
  });
});
