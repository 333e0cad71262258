/**
 * Runs a {@link startMiniSink} in its own process, so that the server's work does not share the
 * client's event loop. Flags: `--pipelining`, `--chunking`, `--auth`. Prints `{"port":N}` once
 * listening; exits when its parent closes stdin.
 *
 * @example
 * ```sh
 * node --import tsx bench/sinks/child.ts --pipelining --auth
 * ```
 */
import { startMiniSink } from './mini-sink';

const flags = new Set(process.argv.slice(2));
startMiniSink({ pipelining: flags.has('--pipelining'), chunking: flags.has('--chunking'), auth: flags.has('--auth') }).then((sink) => {
  process.stdout.write(`${JSON.stringify({ port: sink.port })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
});
