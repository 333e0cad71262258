import { expect } from 'chai';
import * as fc from 'fast-check';
import { EMPTY, NEVER, Observable, concat, of, take, throwError, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { announce, sequence } from '../../lib/dialogue/sequence';

// `sequence` and `announce` stand in for RxJS's `concat(...)` and `concat(of(v), then$)` on the
// session's connect path; these tests hold them to concat's contract, frame by frame, against
// concat itself.

function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

describe('dialogue/sequence', () => {
  describe('sequence', () => {
    it('subscribes each source when the one before completes, frame for frame as concat does', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const a = cold('-a-b|');
        const b = cold('--c|');
        const c = cold('d|');
        expectObservable(sequence(a, b, c)).toBe('-a-b--cd|');
        expectSubscriptions(a.subscriptions).toBe('^---!');
        expectSubscriptions(b.subscriptions).toBe('----^--!');
        expectSubscriptions(c.subscriptions).toBe('-------^!');
      });
    });

    it('matches concat on random timings, errors included', () => {
      const marble = fc
        .array(fc.constantFrom('-', 'a', 'b'), { maxLength: 6 })
        .chain((frames) => fc.constantFrom('|', '#').map((end) => frames.join('') + end));
      fc.assert(
        fc.property(fc.array(marble, { maxLength: 4 }), (marbles) => {
          const expected: unknown[] = [];
          const actual: unknown[] = [];
          new TestScheduler(() => undefined).run(({ cold, flush }) => {
            concat(...marbles.map((m) => cold(m))).subscribe({ next: (v) => expected.push(v), error: (e) => expected.push(['error', e]), complete: () => expected.push('done') });
            flush();
          });
          new TestScheduler(() => undefined).run(({ cold, flush }) => {
            sequence(...marbles.map((m) => cold(m))).subscribe({ next: (v) => actual.push(v), error: (e) => actual.push(['error', e]), complete: () => actual.push('done') });
            flush();
          });
          expect(actual).to.deep.equal(expected);
        }),
      );
    });

    it('stops at the first error: later sources are never subscribed', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const a = cold('-a#', undefined, new Error('boom'));
        const b = cold('b|');
        expectObservable(sequence(a, b)).toBe('-a#', undefined, new Error('boom'));
        expectSubscriptions(b.subscriptions).toBe([]);
      });
    });

    it('unsubscribing ends the source whose turn it is, and no later one starts', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const a = cold('a|');
        const b = cold('--b--c|');
        const c = cold('d|');
        expectObservable(sequence(a, b, c), '^---!').toBe('a--b');
        expectSubscriptions(b.subscriptions).toBe('-^--!');
        expectSubscriptions(c.subscriptions).toBe([]);
      });
    });

    it('completes at once with no sources, and goes through many that complete at once without growing the stack', () => {
      const values: number[] = [];
      sequence<number>().subscribe({ complete: () => values.push(-1) });
      expect(values).to.deep.equal([-1]);
      const many = Array.from({ length: 50_000 }, (_, i) => of(i));
      let last = -1;
      let count = 0;
      sequence(...many).subscribe((v) => {
        last = v;
        count++;
      });
      expect([count, last]).to.deep.equal([50_000, 49_999]);
    });

    it('a taker that leaves during a synchronous source stops the rest at once', () => {
      const subscribed: number[] = [];
      const source = (i: number): Observable<number> =>
        new Observable<number>((s) => {
          subscribed.push(i);
          s.next(i);
          s.complete();
        });
      let got: number[] = [];
      sequence(source(0), source(1), source(2), source(3))
        .pipe(take(2), toArray())
        .subscribe((v) => (got = v));
      expect(got).to.deep.equal([0, 1]);
      expect(subscribed).to.deep.equal([0, 1]);
    });

    it('a source that throws when subscribed errors the sequence', () => {
      let error: unknown;
      sequence(of(1), throwError(() => new Error('at subscribe')), of(2)).subscribe({ error: (e: unknown) => (error = e) });
      expect((error as Error).message).to.equal('at subscribe');
    });
  });

  describe('announce', () => {
    it('emits its value at subscription, then what then$ emits, frame for frame as concat(of(v), then$)', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const then$ = cold('--x-y|');
        expectObservable(announce('v', then$)).toBe('v-x-y|');
        expectSubscriptions(then$.subscriptions).toBe('^----!');
      });
    });

    it('passes then$ errors on, completes with an empty then$, and never subscribes then$ for a taker of one', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        expectObservable(announce('v', cold('-#'))).toBe('v#');
        expectObservable(announce('v', EMPTY)).toBe('(v|)');
        const then$ = cold('x|');
        expectObservable(announce('v', then$).pipe(take(1))).toBe('(v|)');
        expectSubscriptions(then$.subscriptions).toBe([]);
      });
    });

    it('unsubscribing ends then$', () => {
      testScheduler().run(({ expectObservable }) => {
        expectObservable(announce('0', NEVER), '^-!').toBe('0');
      });
      let ended = false;
      const then$ = new Observable<number>(() => () => (ended = true));
      announce(1, then$).subscribe().unsubscribe();
      expect(ended).to.equal(true);
    });
  });
});
