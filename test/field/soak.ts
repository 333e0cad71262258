import { refuseRejectAt, startSmtpServer } from '../fixtures/smtp-server';
import { ALL_CUT_KINDS, startSweep } from './cut-sweep';
import { SWEEP_SERVERS, type SweepServerName, startSweepServer } from './sweep-servers';
import { EVERYTHING, FEATURE_GROUPS, type Features, runModel } from './model-commands';

/**
 * `npm run soak:field` (and the second half of `npm run soak`): issue 10's long runs. Every byte
 * offset of the 3-mail session cut both ways by FIN and by RST against smtp-server, Postfix and
 * Exim; then the model-based runs, many per group, from a random seed (printed; SOAK_SEED replays).
 * Env: SOAK_SWEEP=smtp-server,postfix,exim (or 'none'), SOAK_MODEL_RUNS (default 200 a group),
 * SOAK_MODEL_COMMANDS (default 20). Exits 1 when any rule broke.
 */

const SEED = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000_007);
const MODEL_RUNS = Number(process.env.SOAK_MODEL_RUNS ?? 200);
const MODEL_COMMANDS = Number(process.env.SOAK_MODEL_COMMANDS ?? 20);
const SWEEP = (process.env.SOAK_SWEEP ?? SWEEP_SERVERS.join(',')).split(',').filter((name) => name !== 'none' && name !== '') as SweepServerName[];
for (const name of SWEEP) if (!SWEEP_SERVERS.includes(name)) throw new Error(`SOAK_SWEEP: no sweep server ${name} (${SWEEP_SERVERS.join(', ')})`);


const GROUPS: [string, Features][] = [...FEATURE_GROUPS, ['everything at once', EVERYTHING]];

async function sweeps(problems: string[]): Promise<void> {
  for (const name of SWEEP) {
    const running = await startSweepServer(name);
    if (running === null) {
      console.log(`sweep ${name}: cannot run here, skipped`);
      continue;
    }
    try {
      const sweep = await startSweep({ name, port: running.port, store: running.store, batch: running.batch });
      for (const [direction, how] of ALL_CUT_KINDS) {
        const report = await sweep.run(sweep.cuts(direction, how));
        console.log(`sweep ${name} ${direction} ${how}: ${report.runs} runs (${report.untouched} untouched) in ${(report.ms / 1000).toFixed(1)} s, ${report.violations.length} violations`);
        problems.push(...report.violations);
      }
    } finally {
      await running.stop();
    }
  }
}

async function models(problems: string[]): Promise<void> {
  const server = await startSmtpServer({ onRcptTo: refuseRejectAt });
  try {
    for (const mode of ['session', 'pool'] as const) {
      for (const [name, features] of GROUPS) {
        const started = Date.now();
        try {
          const fates = await runModel({ mode, features, server, seed: SEED, numRuns: MODEL_RUNS, maxCommands: MODEL_COMMANDS });
          console.log(`model ${mode} ${name}: ${MODEL_RUNS} runs in ${((Date.now() - started) / 1000).toFixed(1)} s, fates ${JSON.stringify(fates)}`);
        } catch (error) {
          const cause = (error as Error).cause instanceof Error ? `\n${((error as Error).cause as Error).message}` : '';
          const report = `model ${mode} ${name} (seed ${SEED}): ${(error as Error).message}${cause}`;
          console.log(report);
          problems.push(report);
        }
      }
    }
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  console.log(`field soak: seed ${SEED}, ${MODEL_RUNS} model runs a group, sweeps against ${SWEEP.join(', ') || 'none'}`);
  const problems: string[] = [];
  await sweeps(problems);
  await models(problems);
  for (const problem of problems.slice(0, 100)) console.error(`VIOLATION ${problem}`);
  console.log(problems.length === 0 ? 'field soak clean' : `${problems.length} violations (seed ${SEED})`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

void main();
