import { expect } from 'chai';
import type { CutKind, Direction } from '../fixtures/fault-proxy';
import { type SweepServer, type SweepServerName, startSweepServer } from './sweep-servers';
import { ALL_CUT_KINDS, type Sweep, type SweepReport, type SweepSubset, clientBoundaries, offsetsToSweep, serverBoundaries, startSweep } from './cut-sweep';

// Issue 10's cut sweeps, short: a 3-mail pipelined session cut in each direction against
// smtp-server (in process; by FIN and by RST at every SWEEP_EVERY-th byte, default 6, and around
// every command and reply boundary), Postfix and Exim (at every boundary, FIN and RST in turn: they
// cost more, Postfix stores about 7 messages a second and Exim takes a quarter second a session);
// the accounting invariant after each run. `npm run soak:field` cuts at every byte, both ways.

const EVERY = Number(process.env.SWEEP_EVERY) || 6;

/** The report as an assertion message: the first violations, and how many in all. */
function explain(report: SweepReport): string {
  const shown = report.violations.slice(0, 15).join('\n  ');
  return `${report.violations.length} violations in ${report.runs} runs:\n  ${shown}`;
}

function sweepSuite(name: SweepServerName, cases: [Direction, CutKind | CutKind[], SweepSubset][]): void {
  describe(`field: cut sweep against ${name}`, function () {
    this.timeout(180_000);
    let running: SweepServer | null = null;
    let sweep: Sweep | undefined;
    before(async function () {
      running = await startSweepServer(name);
      if (running === null) return this.skip();
      sweep = await startSweep({ name, port: running.port, store: running.store, batch: running.batch });
    });
    after(() => running?.stop());

    for (const [direction, how, subset] of cases) {
      const hows = typeof how === 'string' ? how.toUpperCase() : how.map((h) => h.toUpperCase()).join(' and ');
      const where = subset.every === undefined ? 'at every command and reply boundary' : `at every ${subset.every}th byte and around each boundary`;
      it(`cut ${direction} by ${hows} ${where}: every mail accounted for`, async () => {
        const report = await sweep!.run(sweep!.cuts(direction, how, subset));
        expect(report.runs).to.be.above(15);
        expect(report.violations, explain(report)).to.deep.equal([]);
      });
    }
  });
}

const EVERY_BYTES: SweepSubset = { every: EVERY };
const BOUNDARIES: SweepSubset = { near: [0] };
const BOTH: CutKind[] = ['fin', 'rst'];

sweepSuite(
  'smtp-server',
  ALL_CUT_KINDS.map(([direction, how]) => [direction, how, EVERY_BYTES]),
);
sweepSuite('postfix', [
  ['toServer', BOTH, BOUNDARIES],
  ['toClient', BOTH, BOUNDARIES],
]);
sweepSuite('exim', [
  ['toServer', BOTH, BOUNDARIES],
  ['toClient', BOTH, BOUNDARIES],
]);

describe('field: cut sweep offsets', () => {
  const client = Buffer.from('EHLO x\r\nMAIL FROM:<a@b>\r\nDATA\r\nSubject: s\r\n\r\nhi\r\n.\r\nBDAT 4 LAST\r\nabcdQUIT\r\n');

  it('finds each command, the body, the end of data and BDAT chunks in the client bytes', () => {
    expect(clientBoundaries(client)).to.deep.equal([0, 8, 25, 31, 49, 52, 65, 69, client.length]);
  });

  it('finds each reply line in the server bytes', () => {
    expect(serverBoundaries(Buffer.from('220 hi\r\n250-a\r\n250 b\r\n'))).to.deep.equal([0, 8, 15, 22]);
  });

  it('sweeps every offset, or every k-th plus each boundary and its neighbours', () => {
    expect(offsetsToSweep(5, [2])).to.deep.equal([0, 1, 2, 3, 4]);
    expect(offsetsToSweep(30, [0, 14, 30], { every: 10 })).to.deep.equal([0, 1, 10, 13, 14, 15, 20, 29]);
    expect(offsetsToSweep(30, [0, 14, 30], { near: [0] })).to.deep.equal([0, 14]);
  });
});
