import { expect } from 'chai';
import * as sinon from 'sinon';
import { TokenBucket } from '../../lib/pool/token-bucket';

describe('pool/token-bucket', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })));
  afterEach(() => clock.restore());

  /** Takes `n` tokens one after another, recording the (virtual) time each was granted. */
  function takeAll(bucket: TokenBucket, n: number): number[] {
    const times: number[] = [];
    for (let i = 0; i < n; i++) bucket.take$().subscribe(() => times.push(Date.now() - 1_000_000));
    return times;
  }

  it('lets a burst of its capacity through at once, then one token per perMs / capacity', async () => {
    const times = takeAll(new TokenBucket(2, 1_000), 6);
    await clock.tickAsync(0);
    expect(times).to.deep.equal([0, 0]);
    await clock.tickAsync(499);
    expect(times).to.deep.equal([0, 0]);
    await clock.tickAsync(1);
    expect(times).to.deep.equal([0, 0, 500]);
    await clock.tickAsync(1_500);
    expect(times).to.deep.equal([0, 0, 500, 1_000, 1_500, 2_000]);
  });

  it('never exceeds capacity + rate x time over any span', async () => {
    const times = takeAll(new TokenBucket(5, 200), 60);
    await clock.tickAsync(3_000);
    expect(times).to.have.length(60);
    for (const start of times) {
      for (const span of [0, 100, 200, 1_000]) {
        const inSpan = times.filter((t) => t >= start && t <= start + span).length;
        expect(inSpan, `${inSpan} tokens in [${start}, ${start + span}]`).to.be.at.most(5 + Math.floor((span * 5) / 200) + 0);
      }
    }
  });

  it('refills while unused, up to its capacity only', async () => {
    const bucket = new TokenBucket(3, 300);
    takeAll(bucket, 3);
    await clock.tickAsync(10_000);
    const times = takeAll(bucket, 4);
    await clock.tickAsync(0);
    expect(times).to.have.length(3);
    await clock.tickAsync(100);
    expect(times).to.have.length(4);
  });
});
