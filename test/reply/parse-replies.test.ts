import { expect } from 'chai';
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { SmtpError } from '../../lib/errors';
import { parseReplies } from '../../lib/reply/parse-replies';
import type { SmtpReply } from '../../lib/reply/reply';

function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

const bytes = (text: string): Buffer => Buffer.from(text);

const malformed = (line: string): SmtpError =>
  new SmtpError('ESERVERSYNC', `Malformed reply line (expected a code 200-599 then a space, "-" or the end): "${line}"`);

describe('parseReplies', () => {
  it('emits a reply at the frame of the chunk that completes it', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const chunks$ = cold('-a-b-c-|', { a: bytes('250-mail'), b: bytes('.example.com\r\n250 SIZE'), c: bytes(' 1000\r\n') });
      expectObservable(chunks$.pipe(parseReplies())).toBe('-----r-|', {
        r: { code: 250, lines: ['mail.example.com', 'SIZE 1000'] },
      });
    });
  });

  it('emits every reply one chunk completes, in order, at that frame', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const chunks$ = cold('-a------|', { a: bytes('250 2.1.0 ok\r\n354 go\r\n') });
      expectObservable(chunks$.pipe(parseReplies())).toBe('-(rs)---|', {
        r: { code: 250, lines: ['2.1.0 ok'], enhanced: { class: 2, subject: 1, detail: 0 } },
        s: { code: 354, lines: ['go'] },
      });
    });
  });

  it('errors with ESERVERSYNC at the bad chunk and unsubscribes the source', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const chunks$ = hot('-a-b-c-|', { a: bytes('250 ok\r\n'), b: bytes('abc\r\n'), c: bytes('250 late\r\n') });
      expectObservable(chunks$.pipe(parseReplies())).toBe('-r-#', { r: { code: 250, lines: ['ok'] } }, malformed('abc'));
      expectSubscriptions(chunks$.subscriptions).toBe('^--!');
    });
  });

  it('emits the replies a chunk completed before its bad line, then the error', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const chunks$ = cold('-a-|', { a: bytes('250 queued as 1\r\n600 no\r\n') });
      expectObservable(chunks$.pipe(parseReplies())).toBe(
        '-(r#)',
        { r: { code: 250, lines: ['queued as 1'] } },
        malformed('600 no'),
      );
    });
  });

  it('applies the limits it is given', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const chunks$ = cold('-a-|', { a: bytes('250-a\r\n250 b\r\n') });
      const error = new SmtpError('ESERVERSYNC', 'Reply has more than 1 lines');
      expectObservable(chunks$.pipe(parseReplies({ maxLines: 1 }))).toBe('-#', undefined, error);
    });
  });

  it('just completes when the source completes in the middle of a reply', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const chunks$ = cold('-a-b|', { a: bytes('250 ok\r\n'), b: bytes('250-half\r\n250 and') });
      expectObservable(chunks$.pipe(parseReplies())).toBe('-r--|', { r: { code: 250, lines: ['ok'] } });
    });
  });

  it('passes a source error through unchanged', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      expectObservable(cold('-a-#', { a: bytes('250 o') }, reset).pipe(parseReplies())).toBe('---#', undefined, reset);
    });
  });

  it('gives each subscription its own parser', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const chunks$ = hot('-a-b-|', { a: bytes('250-first\r\n'), b: bytes('250 second\r\n') });
      const replies$ = chunks$.pipe(parseReplies());
      expectObservable(replies$, '^').toBe('---r-|', { r: { code: 250, lines: ['first', 'second'] } });
      expectObservable(replies$, '--^').toBe('---s-|', { s: { code: 250, lines: ['second'] } });
    });
  });

  it('stops delivering once it has errored, even while a synchronous source goes on', () => {
    const chunks$ = new Subject<Uint8Array>();
    const seen: (SmtpReply | string)[] = [];
    chunks$.pipe(parseReplies()).subscribe({
      next: (reply) => seen.push(reply),
      error: (err: SmtpError) => seen.push(err.code),
    });
    chunks$.next(bytes('xyz\r\n'));
    chunks$.next(bytes('250 ok\r\n'));
    expect(seen).to.deep.equal(['ESERVERSYNC']);
    expect(chunks$.observed).to.equal(false);
  });

  it('rejects invalid limits with EINVAL when the pipeline is built', () => {
    expect(() => parseReplies({ maxReplyBytes: 0 })).to.throw(SmtpError).with.property('code', 'EINVAL');
  });
});
