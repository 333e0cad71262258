import { expect } from 'chai';
import { Subject } from 'rxjs';
import type { TranscriptLine } from '../../lib/transport/transcript';
import type { Waiter } from '../../lib/transport/waiters';
import { writeItems } from '../../lib/transport/write-batch';

describe('transport/write-batch', () => {
  describe('writeItems', () => {
    const to = { next: () => {}, error: () => {}, complete: () => {} };

    function written(items: Parameters<typeof writeItems>[1]): { writes: string[]; waiters: Waiter[]; owed: boolean; transcript: string[] } {
      const writes: string[] = [];
      const waiters: Waiter[] = [];
      const transcript$ = new Subject<TranscriptLine>();
      const transcript: string[] = [];
      transcript$.subscribe((t) => transcript.push(t.line));
      const socket = { write: (data: string | Uint8Array): boolean => writes.push(typeof data === 'string' ? data : Buffer.from(data).toString('latin1')) > 0 };
      const owed = writeItems(socket, items, to, transcript$, (waiter) => waiters.push(waiter));
      return { writes, waiters, owed, transcript };
    }

    it('writes each run of lines as one string, raw bytes between them in their place, and skips empty bytes', () => {
      const { writes } = written([{ line: 'BDAT 5' }, { raw: Buffer.from('hello') }, { raw: Buffer.alloc(0) }, { line: 'BDAT 0 LAST' }, { line: 'NOOP' }]);
      expect(writes).to.deep.equal(['BDAT 5\r\n', 'hello', 'BDAT 0 LAST\r\nNOOP\r\n']);
    });

    it('owes a waiter per command and placeholder, in order, the last one final, redacted as the transcript shows it', () => {
      const { waiters, owed, transcript } = written([
        { line: 'AUTH PLAIN c2VjcmV0', redacted: 'AUTH PLAIN [redacted]', redactReply: true },
        { raw: Buffer.from('x') },
        { reply: 'end of data' },
        { line: 'STARTTLS', last: true },
      ]);
      expect(owed).to.equal(true);
      expect(waiters.map(({ command, redactReply, last, final }) => ({ command, redactReply, last, final }))).to.deep.equal([
        { command: 'AUTH PLAIN [redacted]', redactReply: true, last: false, final: false },
        { command: 'end of data', redactReply: false, last: false, final: false },
        { command: 'STARTTLS', redactReply: false, last: true, final: true },
      ]);
      expect(transcript).to.deep.equal(['AUTH PLAIN [redacted]', 'STARTTLS']);
    });

    it('owes nothing for raw bytes alone', () => {
      const { writes, waiters, owed } = written([{ raw: Buffer.from('.\r\n') }]);
      expect([writes, waiters, owed]).to.deep.equal([['.\r\n'], [], false]);
    });
  });
});
