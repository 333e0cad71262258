/**
 * One `sendAll` of MAILS 1 KB mails, each with its own body, on one session against the bench's
 * mini sink in this process, for constant-memory.test.ts. Prints `{"heapGrowth":…,"ms":…}`: the
 * heap in use (after full collections) when the last outcome arrives, less the heap in use once
 * connected. At that moment the call has not ended, so whatever it keeps per mail is still held.
 * Needs `--expose-gc`.
 *
 * @example
 * ```sh
 * node --expose-gc --import tsx test/send/memory-child.ts 20000
 * ```
 */
import { lastValueFrom } from 'rxjs';
import { startMiniSink } from '../../bench/sinks/mini-sink';
import type { Mail } from '../../lib/mail/mail';
import { createSession } from '../../lib/session';

const MAILS = Number(process.argv[2]);
/** About 1 KB of body: 12 lines of 78 octets after the subject. */
const FILLER = `${'x'.repeat(76)}\r\n`.repeat(12);

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

/** Heap in use after two full collections (the second takes what the first's finalizers freed). */
function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

/** Each mail made when the session asks for it, its body a string of its own. */
function* mails(): Generator<Mail> {
  for (let i = 0; i < MAILS; i++) yield { from: 'a@example.test', to: `rcpt${i}@example.test`, body: `Subject: ${i}\r\n\r\n${FILLER}` };
}

async function main(): Promise<void> {
  const sink = await startMiniSink({ pipelining: true });
  const session = createSession({ tls: 'none' });
  await lastValueFrom(session.connect({ host: '127.0.0.1', port: sink.port }));
  const baseline = heapUsed();
  const start = performance.now();
  let atLast = 0;
  let delivered = 0;
  await new Promise<void>((resolve, reject) =>
    session.sendAll(mails()).subscribe({
      next: (outcome) => {
        if (outcome.ok) delivered++;
        if (outcome.index === MAILS - 1) atLast = heapUsed();
      },
      error: reject,
      complete: resolve,
    }),
  );
  const ms = Math.round(performance.now() - start);
  if (delivered !== MAILS) throw new Error(`only ${delivered} of ${MAILS} delivered`);
  await lastValueFrom(session.quit(), { defaultValue: undefined });
  session.dispose();
  await sink.close();
  process.stdout.write(`${JSON.stringify({ heapGrowth: atLast - baseline, ms })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
