/**
 * Runs a {@link startDelayProxy} in its own process, so that its timers and copies do not share the
 * client's event loop. Arguments: `--target PORT` (on 127.0.0.1) and `--rtt MS`. Prints `{"port":N}`
 * once listening; exits when its parent closes stdin.
 *
 * @example
 * ```sh
 * node --import tsx bench/latency/proxy-child.ts --target 2525 --rtt 10
 * ```
 */
import { startDelayProxy } from './delay-proxy';

const args = process.argv.slice(2);
const valueOf = (flag: string): number => Number(args[args.indexOf(flag) + 1]);

startDelayProxy(valueOf('--target'), valueOf('--rtt')).then((proxy) => {
  process.stdout.write(`${JSON.stringify({ port: proxy.port })}\n`);
  process.stdin.resume();
  process.stdin.on('close', () => process.exit(0));
});
