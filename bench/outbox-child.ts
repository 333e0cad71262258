import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { BUILD_DIR } from './rx';

/**
 * One outbox worker process of the scaling figure (bench/outbox.ts): the built `rx-smtp/outbox`
 * (or the sources, BENCH_SOURCE=1). Prints `ready` once Redis answered, starts working when a
 * `go` line arrives on stdin (so that every process starts at once), stops on SIGTERM.
 *
 * node --import tsx bench/outbox-child.ts '{"redisPort":6379,"queue":"bench-1","sinkPort":2525}'
 */

type OutboxModule = typeof import('../lib/outbox');

async function main(): Promise<void> {
  const { redisPort, queue, sinkPort } = JSON.parse(process.argv[2]!) as { redisPort: number; queue: string; sinkPort: number };
  const module = (process.env.BENCH_SOURCE === '1' ? require('../lib/outbox') : require(path.join(BUILD_DIR, 'outbox', 'index.js'))) as OutboxModule;
  const outbox = module.createOutbox({ connection: { host: '127.0.0.1', port: redisPort }, name: queue });
  await outbox.uncertain();
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => lines.once('line', () => resolve()));
  lines.close();
  const subscription = outbox.work({ server: { host: '127.0.0.1', port: sinkPort }, tls: 'none' }).subscribe();
  process.once('SIGTERM', () => {
    subscription.unsubscribe();
    void outbox.close().then(() => process.exit(0));
  });
}

void main();
