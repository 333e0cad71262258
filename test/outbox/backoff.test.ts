import { expect } from 'chai';
import fc from 'fast-check';
import { SmtpError } from '../../lib/errors';
import { resolveRetry, retryDelay } from '../../lib/outbox/backoff';

describe('outbox backoff', () => {
  const retry = resolveRetry({ attempts: 8, delayMs: 60_000, maxDelayMs: 3_600_000 });

  it('doubles from delayMs, capped at maxDelayMs, each delay in the upper half of its ceiling', () => {
    const low = (attempt: number): number => retryDelay(attempt, retry, () => 0);
    const high = (attempt: number): number => retryDelay(attempt, retry, () => 0.999_999);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(low)).to.deep.equal([30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_800_000, 1_800_000]);
    expect(high(1)).to.equal(59_999);
    expect(high(40)).to.equal(3_599_998);
  });

  it('never leaves [ceiling / 2, ceiling], and never passes maxDelayMs, for any attempt and draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 0, max: 2_147_483_647 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, delayMs, extra, draw) => {
          const options = resolveRetry({ attempts: 8, delayMs, maxDelayMs: Math.min(2_147_483_647, delayMs + extra) });
          const ceiling = delayMs === 0 ? 0 : Math.min(options.maxDelayMs, delayMs * 2 ** (attempt - 1));
          const delay = retryDelay(attempt, options, () => draw);
          expect(delay).to.be.within(Math.floor(ceiling / 2), ceiling);
          expect(Number.isInteger(delay)).to.equal(true);
        },
      ),
    );
  });

  it('refuses options that make no policy with EINVAL', () => {
    for (const bad of [{ attempts: 0 }, { attempts: 1.5 }, { delayMs: -1 }, { delayMs: 100, maxDelayMs: 50 }, { maxDelayMs: 2 ** 31 }]) {
      expect(() => resolveRetry(bad), JSON.stringify(bad)).to.throw(SmtpError).with.property('code', 'EINVAL');
    }
  });
});
