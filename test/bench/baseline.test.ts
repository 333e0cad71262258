import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { buildBaseline, loadRx } from '../../bench/rx';
import { createSession } from '../../lib';

const ROOT = path.join(__dirname, '..', '..');
/** tsc over all of lib/ takes a while on a shared machine. */
const BUILD_TIMEOUT_MS = 180_000;

const leftovers = (): string[] => readdirSync(os.tmpdir()).filter((name) => name.startsWith('rx-smtp-baseline-'));

describe('bench/rx: --baseline builds a git ref', function () {
  this.timeout(BUILD_TIMEOUT_MS);
  let out: string;
  beforeEach(() => {
    // Inside the tree, as the bench's own: the build finds rxjs in this tree's node_modules.
    mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
    out = mkdtempSync(path.join(ROOT, '.tmp', 'bench-baseline-test-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it("builds HEAD's lib with its own tsconfig into the directory, loads it, and leaves no sources behind", () => {
    const before = leftovers();
    writeFileSync(path.join(out, 'stale.js'), 'from a build of another ref');
    const commit = buildBaseline('HEAD', () => undefined, out);
    expect(commit).to.equal(execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim());
    expect(existsSync(path.join(out, 'stale.js'))).to.equal(false);
    const rx = loadRx(out);
    expect(rx.createSession).to.be.a('function');
    expect(rx.createPool).to.be.a('function');
    // Its own build, not these sources (nor a bench build this checkout may not have made).
    expect(rx.createSession).to.not.equal(createSession);
    expect(leftovers()).to.deep.equal(before);
  });

  it('refuses a ref that names no commit, saying which', () => {
    const before = leftovers();
    expect(() => buildBaseline('no-such-ref-anywhere', () => undefined, out)).to.throw(/no-such-ref-anywhere/);
    expect(leftovers()).to.deep.equal(before);
  });
});
