import { expect } from 'chai';
import { alternate, mapSides, mapSidesAsync, sidesOf } from '../../bench/rounds';

describe('bench/rounds', () => {
  describe('alternate', () => {
    it('runs every side once a round, in order on even rounds and in reverse on odd ones', async () => {
      const order: string[] = [];
      const side = (name: string, value: number) => async (): Promise<number> => {
        order.push(name);
        return value;
      };
      const runs = await alternate(3, { a: side('a', 1), b: side('b', 2), c: side('c', 3) });
      expect(order.join(' ')).to.equal('a b c c b a a b c');
      expect(runs).to.deep.equal({ a: [1, 1, 1], b: [2, 2, 2], c: [3, 3, 3] });
    });

    it('skips a side given as undefined (no baseline) and reports no rounds for it', async () => {
      const runs = await alternate(2, { rx: async () => 1, baseline: undefined, nodemailer: async () => 2 });
      expect(runs).to.deep.equal({ rx: [1, 1], nodemailer: [2, 2] });
      expect(runs.baseline).to.equal(undefined);
    });

    it('keeps each round of a side apart, so rounds pair up across sides', async () => {
      let tick = 0;
      const runs = await alternate(2, { rx: async () => ++tick, peer: async () => ++tick });
      // Round 1: rx then peer; round 2: peer then rx.
      expect(runs).to.deep.equal({ rx: [1, 4], peer: [2, 3] });
    });
  });

  describe('sides', () => {
    it('maps the baseline only when there is one', async () => {
      expect(mapSides({ rx: 2 }, (n) => n * 10)).to.deep.equal({ rx: 20 });
      expect(mapSides({ rx: 2, baseline: 3 }, (n) => n * 10)).to.deep.equal({ rx: 20, baseline: 30 });
      expect(await mapSidesAsync({ rx: 2, baseline: 3 }, async (n) => n + 1)).to.deep.equal({ rx: 3, baseline: 4 });
      expect(sidesOf({ rx: 'a' })).to.deep.equal(['a']);
      expect(sidesOf({ rx: 'a', baseline: 'b' })).to.deep.equal(['a', 'b']);
    });
  });
});
