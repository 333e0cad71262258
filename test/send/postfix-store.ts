import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SharedServer } from '../fixtures/postfix';

/** What Postfix stored for one message: the content and the envelope it wrote beside it. */
export interface Stored {
  eml: Buffer;
  json: { mail_from: string; rcpt_tos: string[]; queue_id: string };
}

/**
 * Finds messages in a Postfix fixture's store by the queue id of the 250 that accepted them:
 * pipelined messages may be delivered, and numbered, in another order than they were sent.
 *
 * @example
 * ```ts
 * const store = postfixStore(postfix);
 * const { eml } = await store.byQueueId(result.queueId!);
 * ```
 */
export function postfixStore(server: SharedServer): { byQueueId(queueId: string): Promise<Stored>; queueIds(): string[] } {
  const seen: Stored[] = [];
  return {
    async byQueueId(queueId) {
      // Messages 1..N all exist once N does, so reading them in turn reaches any message stored.
      for (let n = 1; ; n++) {
        seen[n - 1] ??= await server.mail(n);
        if (seen[n - 1]!.json.queue_id === queueId) return seen[n - 1]!;
      }
    },
    queueIds() {
      const dir = join(server.dir, 'mail');
      return readdirSync(dir)
        .filter((name) => name.endsWith('.json'))
        .map((name) => (JSON.parse(readFileSync(join(dir, name), 'utf8')) as Stored['json']).queue_id);
    },
  };
}
