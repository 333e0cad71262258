import { expect } from 'chai';
import * as sinon from 'sinon';
import { type Delayed, DelayLine } from '../../bench/latency/delay-line';

/** What came out of a line, with the (fake) time it came out. */
function recorder(clock: sinon.SinonFakeTimers): { out: { at: number; item: string }[]; deliver: (item: Delayed) => void } {
  const out: { at: number; item: string }[] = [];
  return { out, deliver: (item) => out.push({ at: clock.now, item: item === null ? 'END' : item.toString() }) };
}

describe('bench/latency/delay-line', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  });
  afterEach(() => clock.restore());

  it('holds a chunk for exactly its delay', () => {
    const { out, deliver } = recorder(clock);
    const line = new DelayLine(5, deliver);
    line.push(Buffer.from('a'));
    clock.tick(4);
    expect(out).to.deep.equal([]);
    clock.tick(1);
    expect(out).to.deep.equal([{ at: 5, item: 'a' }]);
  });

  it('delays each chunk from the moment it went in, in order', () => {
    const { out, deliver } = recorder(clock);
    const line = new DelayLine(5, deliver);
    line.push(Buffer.from('a'));
    clock.tick(2);
    line.push(Buffer.from('b'));
    line.push(Buffer.from('c'));
    clock.tick(1);
    line.push(Buffer.from('d'));
    clock.tick(10);
    expect(out).to.deep.equal([
      { at: 5, item: 'a' },
      { at: 7, item: 'b' },
      { at: 7, item: 'c' },
      { at: 8, item: 'd' },
    ]);
  });

  it('passes an end on as late as the chunks before it, and after them', () => {
    const { out, deliver } = recorder(clock);
    const line = new DelayLine(5, deliver);
    line.push(Buffer.from('last'));
    clock.tick(1);
    line.push(null);
    clock.tick(5);
    expect(out).to.deep.equal([
      { at: 5, item: 'last' },
      { at: 6, item: 'END' },
    ]);
  });

  it('keeps one timer at a time, and none once empty', () => {
    const line = new DelayLine(5, () => undefined);
    for (let i = 0; i < 10; i++) line.push(Buffer.from('x'));
    expect(clock.countTimers()).to.equal(1);
    clock.tick(5);
    expect(line.length).to.equal(0);
    expect(clock.countTimers()).to.equal(0);
  });

  it('drops what it holds and stops its timer on clear', () => {
    const { out, deliver } = recorder(clock);
    const line = new DelayLine(5, deliver);
    line.push(Buffer.from('a'));
    line.clear();
    expect(clock.countTimers()).to.equal(0);
    clock.tick(10);
    expect(out).to.deep.equal([]);
  });
});
