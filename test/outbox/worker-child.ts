import { createOutbox } from '../../lib/outbox';

/**
 * One outbox worker in a process of its own, for the kill tests: it works the queue until it is
 * killed (SIGKILL, by the test) or told to stop (SIGTERM: it unsubscribes, which finishes the
 * jobs it holds, and exits). It prints `ready` once Redis answered, then one JSON line per outcome.
 *
 * node --import tsx test/outbox/worker-child.ts '{"redisPort":6379,"name":"kill","smtpPort":2525,"lockMs":2000}'
 */

interface ChildConfig {
  redisPort: number;
  name: string;
  smtpPort: number;
  lockMs: number;
  maxConnections: number;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]!) as ChildConfig;
  const outbox = createOutbox({ connection: { host: '127.0.0.1', port: config.redisPort }, name: config.name });
  const server = { host: '127.0.0.1', port: config.smtpPort };
  const subscription = outbox
    .work({ server, tls: 'none', maxConnections: config.maxConnections }, { lockMs: config.lockMs, name: `child-${process.pid}` })
    .subscribe((o) => process.stdout.write(`${JSON.stringify({ id: o.id, fate: o.fate })}\n`));
  // A Redis round trip before `ready`: the test then knows this worker is connected.
  await outbox.uncertain();
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    subscription.unsubscribe();
    void outbox.close().then(() => process.exit(0));
  });
}

void main();
