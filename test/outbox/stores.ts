import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as timersPromises from 'node:timers/promises';
import { promisify } from 'node:util';
import type { SharedServer } from '../fixtures/postfix';
import type { SmtpServerFixture } from '../fixtures/smtp-server';

/**
 * The judge of the kill tests: what a real server stored, by outbox id (each test mail carries its
 * id in an `X-Outbox-Id:` header), however the worker that sent it died.
 *
 * @example
 * ```ts
 * const store = smtpServerStore(server);
 * await store.settled(60_000);
 * const copies = store.copies(); // id → how many times the server stored it
 * ```
 */
export interface MailStore {
  port: number;
  /** Resolves once every mail the server accepted is in its store; rejects after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void>;
  /** Every stored mail's outbox id, with how many times it was stored. */
  copies(): Map<string, number>;
}

const ID_HEADER = /^X-Outbox-Id: (\S+)\r?$/m;

/** The header a test mail carries its id in. */
export function idHeader(id: string): string {
  return `X-Outbox-Id: ${id}\r\n`;
}

/** smtp-server in this process: it stores a mail before it answers the end of data. */
export function smtpServerStore(server: SmtpServerFixture): MailStore {
  return {
    port: server.port,
    settled: () => Promise.resolve(),
    copies: () => countIds(server.messages.map((m) => m.raw.toString('utf8'))),
  };
}

const execFileAsync = promisify(execFile);
/** postqueue -j prints about 200 bytes a queued mail: room for the 10,000 of the soak, and more. */
const POSTQUEUE_MAX_BYTES = 64 * 1024 * 1024;
/** How often to ask whether Postfix's queue is empty: it is another process, nothing to await. */
const POSTFIX_POLL_MS = 100;
// Captured at load: the servers run on real time.
const realDelay = timersPromises.setTimeout;

/** A private Postfix: it stores a mail after its 250 (queue, then delivery), so settling waits for an empty queue. */
export function postfixStore(postfix: SharedServer): MailStore {
  const mailDir = join(postfix.dir, 'mail');
  return {
    port: postfix.port,
    async settled(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        // postqueue -j prints one JSON line per queued mail, nothing when the queue is empty.
        const { stdout } = await execFileAsync('postqueue', ['-c', join(postfix.dir, 'etc'), '-j'], { maxBuffer: POSTQUEUE_MAX_BYTES });
        if (stdout.trim() === '') return;
        if (Date.now() > deadline) throw new Error(`Postfix still has mail queued after ${timeoutMs} ms`);
        await realDelay(POSTFIX_POLL_MS);
      }
    },
    copies: () =>
      countIds(
        readdirSync(mailDir)
          .filter((name) => name.endsWith('.eml'))
          .map((name) => readFileSync(join(mailDir, name), 'utf8')),
      ),
  };
}

function countIds(contents: string[]): Map<string, number> {
  const copies = new Map<string, number>();
  for (const content of contents) {
    const id = ID_HEADER.exec(content)?.[1] ?? '(no id)';
    copies.set(id, (copies.get(id) ?? 0) + 1);
  }
  return copies;
}
