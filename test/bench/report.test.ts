import { expect } from 'chai';
import { type Machine, type Row, chart, table, withinBaseline } from '../../bench/report';

const where: Machine = { cpus: 2, model: 'test cpu', node: 'v20', platform: 'Linux' };
const rate: Row = { figure: 'msgs/s', rx: '10/s', peer: '5/s', ratio: 2, target: '>= 1.9x', targetRatio: 1.9, lowerIsBetter: false, met: true };
const turns: Row = { figure: 'turns/msg', rx: '0.12', peer: 'n/a', ratio: 0.12, target: '< 1', targetRatio: 1, lowerIsBetter: true, met: true };

describe('bench/report', () => {
  describe('withinBaseline', () => {
    it('allows 5% less where higher is better, and no more', () => {
      expect(withinBaseline({ ...rate, baseline: 0.95 })).to.equal(true);
      expect(withinBaseline({ ...rate, baseline: 0.949 })).to.equal(false);
      expect(withinBaseline({ ...rate, baseline: 1.3 })).to.equal(true);
    });

    it('allows 5% more where lower is better, and no more', () => {
      expect(withinBaseline({ ...turns, baseline: 1.05 })).to.equal(true);
      expect(withinBaseline({ ...turns, baseline: 1.051 })).to.equal(false);
      expect(withinBaseline({ ...turns, baseline: 0.5 })).to.equal(true);
    });

    it('has nothing to say without a baseline', () => {
      expect(withinBaseline(rate)).to.equal(null);
    });
  });

  describe('table', () => {
    it('has limit and baseline columns only when a row has them', () => {
      expect(table([rate]).split('\n')[0]).to.not.contain('limit').and.not.contain('vs baseline');
      const head = table([{ ...rate, limit: '2x', baseline: 0.9 }, turns]).split('\n');
      expect(head[0]).to.contain('limit (context)').and.contain('vs baseline');
      expect(head[2]).to.contain('| 2x ').and.contain('0.90x WORSE');
    });
  });

  describe('chart', () => {
    it('draws ratios from 0.1x to 40x on one log scale, with a gridline per power of ten', () => {
      const svg = chart([turns, { ...rate, ratio: 15, targetRatio: 40 }], where, 'smtp-sink');
      for (const tick of ['0.01x', '0.1x', '1x', '10x', '100x']) expect(svg).to.contain(`>${tick}</text>`);
      const width = (figure: string): number => Number(new RegExp(`${figure}</text><rect x="\\d+" y="\\d+" width="([\\d.]+)"`).exec(svg)![1]);
      // 0.12x and 15x are 2.1 decades apart; 15x sits one decade and a bit right of 1x.
      expect(width('msgs/s') - width('turns/msg \\(lower is better\\)')).to.be.closeTo((Math.log10(15 / 0.12) / 4) * 420, 0.5);
    });

    it('writes the baseline ratio after a bar that has one', () => {
      expect(chart([{ ...rate, baseline: 1.02 }], where, 'smtp-sink')).to.contain('2.00x (1.02x baseline)');
    });
  });
});
