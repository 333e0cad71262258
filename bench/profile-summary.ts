/**
 * Summarises a `node --cpu-prof` profile: the functions with the most self time, as shares of the
 * busy (not idle) time. The evidence bench/README.md quotes for each limit.
 *
 * @example
 * ```sh
 * node --cpu-prof --cpu-prof-dir=.tmp/prof --import tsx bench/run.ts --only=parser
 * npx tsx bench/profile-summary.ts .tmp/prof/CPU.*.cpuprofile 25
 * ```
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, top] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file!, 'utf8')) as Profile;
const selfTime = new Map<number, number>();
profile.samples.forEach((id, i) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const byFunction = new Map<string, number>();
let busy = 0;
for (const node of profile.nodes) {
  const time = selfTime.get(node.id) ?? 0;
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || '(anonymous)';
  if (name === '(idle)' || name === '(program)') continue;
  busy += time;
  const where = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(lib|bench|test)\//, '$1/');
  const key = `${name} ${where}${url === '' ? '' : `:${lineNumber + 1}`}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + time);
}
process.stdout.write(`busy ${(busy / 1000).toFixed(0)} ms\n`);
for (const [key, time] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(top ?? 30))) {
  process.stdout.write(`${((time / busy) * 100).toFixed(1).padStart(5)}%  ${key}\n`);
}
