import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { SmtpError } from '../../lib/errors';
import { parseReplies } from '../../lib/reply/parse-replies';

// Marble tests of the operator's timing: at which frame each reply and each error comes out.
// What the parser makes of the bytes is tested in reply-parser.test.ts; the rest of the operator
// (errors after a chunk's good replies, source errors, one parser per subscriber) in parse-replies.test.ts.

function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('parseReplies (marbles)', () => {
  describe('chunk boundaries', () => {
    it('holds a reply split inside its code, its separator and its CRLF until the chunk with its last LF', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const chunks$ = cold('-a-b-c-d-e-|', { a: bytes('2'), b: bytes('50'), c: bytes('-x\r'), d: bytes('\n250 y\r'), e: bytes('\n') });
        expectObservable(chunks$.pipe(parseReplies())).toBe('---------r-|', { r: { code: 250, lines: ['x', 'y'] } });
      });
    });

    it('emits a reply at the chunk that completes it, and the next one that chunk starts at its own chunk', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const chunks$ = cold('-a-b-|', { a: bytes('250 first\r\n35'), b: bytes('4 go ahead\r\n') });
        expectObservable(chunks$.pipe(parseReplies())).toBe('-r-s-|', {
          r: { code: 250, lines: ['first'] },
          s: { code: 354, lines: ['go ahead'] },
        });
      });
    });

    it('emits nothing for empty chunks', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const chunks$ = cold('-a-e-e-b-|', { a: bytes('221 by'), e: bytes(''), b: bytes('e\r\n') });
        expectObservable(chunks$.pipe(parseReplies())).toBe('-------r-|', { r: { code: 221, lines: ['bye'] } });
      });
    });
  });

  describe('several replies per chunk', () => {
    it('emits all of them at that frame, in order, then completes with the source', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const chunks$ = cold('-(a|)', { a: bytes('250 ok\n250\r\n550-no\r\n550 such user\r\n') });
        expectObservable(chunks$.pipe(parseReplies())).toBe('-(rst|)', {
          r: { code: 250, lines: ['ok'] },
          s: { code: 250, lines: [''] },
          t: { code: 550, lines: ['no', 'such user'] },
        });
      });
    });

    it('emits the completed ones of a chunk and holds the partial last one for a later chunk', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const chunks$ = cold('-a---b|', { a: bytes('250 a\r\n251 b\r\n252-c\r\n'), b: bytes('252 d\r\n') });
        expectObservable(chunks$.pipe(parseReplies())).toBe('-(rs)t|', {
          r: { code: 250, lines: ['a'] },
          s: { code: 251, lines: ['b'] },
          t: { code: 252, lines: ['c', 'd'] },
        });
      });
    });
  });

  describe('limits: the error comes at once, nothing more is read', () => {
    it('errors at the chunk that passes maxLineLength, before any LF, and unsubscribes the source', () => {
      testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        // 10 octets of line may still be followed by a CR; the 12th octet without an LF cannot be.
        const chunks$ = hot('-a-b-c-|', { a: bytes('250 abcdef'), b: bytes('gh'), c: bytes('\r\n') });
        const error = new SmtpError('ESERVERSYNC', 'Reply line longer than 10 octets');
        expectObservable(chunks$.pipe(parseReplies({ maxLineLength: 10 }))).toBe('---#', undefined, error);
        expectSubscriptions(chunks$.subscriptions).toBe('^--!');
      });
    });

    it('errors at the first line that leaves no room under maxLines, not at the end of the reply', () => {
      testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const chunks$ = hot('-a-b-c-|', { a: bytes('250-one\r\n'), b: bytes('250-two\r\n'), c: bytes('250 three\r\n') });
        // Line 2 of at most 2 is not the last ("250-"): a third must follow, so the reply is too long now.
        const error = new SmtpError('ESERVERSYNC', 'Reply has more than 2 lines');
        expectObservable(chunks$.pipe(parseReplies({ maxLines: 2 }))).toBe('---#', undefined, error);
        expectSubscriptions(chunks$.subscriptions).toBe('^--!');
      });
    });

    it('errors at the chunk that passes maxReplyBytes, before the reply ends', () => {
      testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const chunks$ = hot('-a-b-c-|', { a: bytes('250-0123456789\r\n'), b: bytes('250-0123456789\r\n'), c: bytes('250 end\r\n') });
        const error = new SmtpError('ESERVERSYNC', 'Reply longer than 20 octets');
        expectObservable(chunks$.pipe(parseReplies({ maxReplyBytes: 20 }))).toBe('---#', undefined, error);
        expectSubscriptions(chunks$.subscriptions).toBe('^--!');
      });
    });

    it('delivers the replies before an overlong line in the same chunk, then the error', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const chunks$ = cold('-a-|', { a: bytes(`250 ok\r\n250 ${'x'.repeat(20)}`) });
        const error = new SmtpError('ESERVERSYNC', 'Reply line longer than 10 octets');
        expectObservable(chunks$.pipe(parseReplies({ maxLineLength: 10 }))).toBe('-(r#)', { r: { code: 250, lines: ['ok'] } }, error);
      });
    });
  });

  describe('completion and errors', () => {
    it('completes at the frame the source completes, after the reply of the same frame', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        expectObservable(cold('--(a|)', { a: bytes('221 bye\r\n') }).pipe(parseReplies())).toBe('--(r|)', {
          r: { code: 221, lines: ['bye'] },
        });
      });
    });

    it('passes a source error through at its frame, dropping a held partial reply', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const reset = new SmtpError('ESHUTDOWN', 'the server closed the connection');
        const chunks$ = cold('-a-b-#', { a: bytes('250 ok\r\n'), b: bytes('354-half\r\n') }, reset);
        expectObservable(chunks$.pipe(parseReplies())).toBe('-r---#', { r: { code: 250, lines: ['ok'] } }, reset);
      });
    });

    it('unsubscribes the source when the subscriber unsubscribes', () => {
      testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const chunks$ = hot('-a-b-c-|', { a: bytes('250 a\r\n'), b: bytes('250 b\r\n'), c: bytes('250 c\r\n') });
        expectObservable(chunks$.pipe(parseReplies()), '^--!').toBe('-r--', { r: { code: 250, lines: ['a'] } });
        expectSubscriptions(chunks$.subscriptions).toBe('^--!');
      });
    });

    it('completes an empty source at once', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        expectObservable(cold<Uint8Array>('|').pipe(parseReplies())).toBe('|');
      });
    });
  });
});
