import * as path from 'node:path';
import { expect } from 'chai';
import madge from 'madge';

// Issue 11: no import cycles in lib/, type imports included (abort/debug ↔ session, errors ↔ mail,
// pool ↔ worker were; a cycle makes each module's meaning depend on the other's). madge reads the
// imports as TypeScript writes them, `import type` too.

describe('architecture', () => {
  it('lib/ has no import cycle, type imports included', async function () {
    this.timeout(60_000);
    const root = path.resolve(__dirname, '..');
    const graph = await madge(path.join(root, 'lib'), {
      fileExtensions: ['ts'],
      tsConfig: path.join(root, 'tsconfig.json'),
      detectiveOptions: { ts: { skipTypeImports: false } },
    });
    expect(graph.circular()).to.deep.equal([]);
  });
});
