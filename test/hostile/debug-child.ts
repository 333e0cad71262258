import { lastValueFrom } from 'rxjs';
import { createSession } from '../../lib/index';

/**
 * Run as a child process with NODE_DEBUG=rx-smtp by sanitize.test.ts (Node reads NODE_DEBUG once, at
 * start-up): connects to 127.0.0.1:$PORT, lets the hostile server talk, and exits when it is over.
 */
async function main(): Promise<void> {
  const session = createSession({ tls: 'none' });
  try {
    await lastValueFrom(session.connect({ host: '127.0.0.1', port: Number(process.env.PORT) }));
  } catch {
    // The failure is the point; its log lines are what the parent reads.
  } finally {
    session.dispose();
  }
}

void main();
