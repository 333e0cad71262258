/**
 * The sessions figures in a fresh process, so that what earlier figures left in the bench's own
 * process (the code V8 optimised for 20,000-message batches, their garbage) does not weigh on one
 * client more than another. `plain` runs connect+EHLO+AUTH PLAIN+QUIT against the mini sink with
 * AUTH, `tls` the same with STARTTLS (and counts resumed handshakes); `--baseline` also measures the
 * baseline build. Starts its own sink, prints the runs as JSON.
 *
 * @example
 * ```sh
 * node --import tsx bench/sessions-child.ts tls 300 5 3000 --baseline
 * ```
 */
import { sessions } from './figures/sessions';
import { tlsSessions } from './figures/tls-sessions';
import { BENCH_AUTH } from './peers';
import { type Builds, BASELINE_DIR, loadRx } from './rx';
import { startChildSink } from './servers';

async function main(): Promise<unknown> {
  const [kind, count, rounds, warmUp] = process.argv.slice(2);
  const builds: Builds = { rx: loadRx(), ...(process.argv.includes('--baseline') && { baseline: loadRx(BASELINE_DIR) }) };
  const tls = kind === 'tls';
  const sink = await startChildSink(tls ? ['--pipelining', '--auth', '--starttls'] : ['--pipelining', '--auth']);
  try {
    if (tls) return await tlsSessions(builds, sink, Number(count), Number(rounds), Number(warmUp));
    return await sessions(builds, sink.port, Number(count), Number(rounds), { dial: { auth: BENCH_AUTH }, reconnect: false }, Number(warmUp));
  } finally {
    await sink.stop();
  }
}

main().then(
  (runs) => {
    process.stdout.write(`${JSON.stringify(runs)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
