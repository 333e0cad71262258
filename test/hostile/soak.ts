import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { activeHandles, type HandleCounts } from '../fixtures/handles';
import { turns } from './hostile-server';
import { runSoak } from './soak-run';

/**
 * `npm run soak [-- sessions]`: the full soak, in real time. Sessions default to 10 000 (or
 * SOAK_SESSIONS); SOAK_SEED replays a run, SOAK_CONCURRENCY and SOAK_TIMEOUT_MS tune it. Exits 1
 * when a mail lost its one outcome, the books disagree, or heap or handles did not come back.
 */

/** Heap growth tolerated between before and after (V8 keeps some compiled code and caches). */
const HEAP_SLACK_BYTES = 8 * 1024 * 1024;

// A real garbage collection for honest heap numbers, without needing node --expose-gc.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function exceeds(now: HandleCounts, before: HandleCounts): boolean {
  return (Object.keys(before) as (keyof HandleCounts)[]).some((kind) => now[kind] > before[kind]);
}

async function main(): Promise<void> {
  const sessions = Number(process.argv[2] ?? process.env.SOAK_SESSIONS ?? 10_000);
  const seed = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);
  const options = {
    sessions,
    seed,
    concurrency: Number(process.env.SOAK_CONCURRENCY ?? 50),
    maxMails: 4,
    faultRate: 0.5,
    // Short, so that stalls end quickly; long enough for a busy loopback.
    timeout: Number(process.env.SOAK_TIMEOUT_MS ?? 1_000),
  };
  console.log(`soak: ${sessions} sessions, seed ${seed}, concurrency ${options.concurrency}, timeout ${options.timeout} ms`);
  const handlesBefore = activeHandles();
  const heapBefore = heapAfterGc();
  const started = Date.now();
  let lastShown = 0;
  const report = await runSoak({
    ...options,
    onProgress: (done) => {
      if (done - lastShown >= sessions / 20 || done === sessions) {
        lastShown = done;
        process.stdout.write(`  ${done}/${sessions} sessions, ${Math.round((Date.now() - started) / 1000)} s\n`);
      }
    },
  });
  // Closing sockets finish on later turns of the event loop.
  for (let i = 0; i < 1000 && exceeds(activeHandles(), handlesBefore); i++) await turns(1);
  const handlesAfter = activeHandles();
  const heapAfter = heapAfterGc();
  console.log(JSON.stringify({ ...report, violations: report.violations.length }, null, 2));
  console.log(`heap ${(heapBefore / 1e6).toFixed(1)} MB -> ${(heapAfter / 1e6).toFixed(1)} MB; handles ${JSON.stringify(handlesBefore)} -> ${JSON.stringify(handlesAfter)}`);
  const problems = [...report.violations];
  if (heapAfter > heapBefore + HEAP_SLACK_BYTES) problems.push(`heap grew by ${((heapAfter - heapBefore) / 1e6).toFixed(1)} MB`);
  if (exceeds(handlesAfter, handlesBefore)) problems.push(`handles left: ${process.getActiveResourcesInfo().join(', ')}`);
  for (const problem of problems.slice(0, 50)) console.error(`VIOLATION ${problem}`);
  console.log(problems.length === 0 ? `soak clean in ${((Date.now() - started) / 1000).toFixed(1)} s` : `${problems.length} violations (seed ${seed})`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

void main();
