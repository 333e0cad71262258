/**
 * Runs a {@link startMiniSink} in its own process, so that the server's work does not share the
 * client's event loop. Flags: `--pipelining`, `--chunking`, `--auth`, `--starttls` (with the test
 * certificate for `localhost` and 127.0.0.1, `test/fixtures/certs/localhost.pem`, signed by
 * `ca.pem`). Prints `{"port":N}` once listening; answers each line `counts` on stdin with its
 * {@link SinkCounts} as one JSON line; exits when its parent closes stdin.
 *
 * @example
 * ```sh
 * node --import tsx bench/sinks/child.ts --pipelining --auth
 * ```
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type SinkCounts, startMiniSink } from './mini-sink';

const CERTS = path.join(__dirname, '..', '..', 'test', 'fixtures', 'certs');

const flags = new Set(process.argv.slice(2));
const starttls = flags.has('--starttls')
  ? { key: readFileSync(path.join(CERTS, 'localhost.key')), cert: readFileSync(path.join(CERTS, 'localhost.pem')) }
  : undefined;
startMiniSink({ pipelining: flags.has('--pipelining'), chunking: flags.has('--chunking'), auth: flags.has('--auth'), starttls }).then((sink) => {
  process.stdout.write(`${JSON.stringify({ port: sink.port })}\n`);
  let asked = '';
  process.stdin.on('data', (chunk: Buffer) => {
    asked += chunk.toString();
    for (let lf = asked.indexOf('\n'); lf !== -1; lf = asked.indexOf('\n')) {
      const counts: SinkCounts = { turns: sink.turns, messages: sink.messages, handshakes: sink.handshakes, resumed: sink.resumed };
      if (asked.slice(0, lf).trim() === 'counts') process.stdout.write(`${JSON.stringify(counts)}\n`);
      asked = asked.slice(lf + 1);
    }
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
});
