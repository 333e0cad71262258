import { expect } from 'chai';
import fc from 'fast-check';
import { BodyEncoder } from '../../lib/body/encoder';
import { crlfNormalise, dotStuff } from './expected';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const END_OF_DATA = Buffer.from('\r\n.\r\n');
const CRLF = Buffer.from('\r\n');
const DOT_CRLF = Buffer.from('.\r\n');

/** Bodies rich in what matters here: CR, LF and dots, among any other byte. */
const bodyBytes = fc
  .array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(CR, LF, DOT) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 255 }) }), {
    maxLength: 300,
  })
  .map((bytes) => Buffer.from(bytes));

/** A body and the places where it is cut into chunks (empty chunks included). */
const chunkedBody = fc.tuple(bodyBytes, fc.array(fc.nat(), { maxLength: 12 })).map(([body, cuts]) => {
  const points = cuts.map((cut) => cut % (body.length + 1)).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, body.length]) {
    chunks.push(body.subarray(from, point));
    from = point;
  }
  return { body, chunks };
});

function run(chunks: Buffer[], stuffDots: boolean): { output: Buffer; contentBytes: number } {
  const encoder = new BodyEncoder(stuffDots);
  const pieces = chunks.flatMap((chunk) => encoder.push(chunk));
  pieces.push(...encoder.end());
  return { output: Buffer.concat(pieces), contentBytes: encoder.contentBytes };
}

describe('body/encoder properties', () => {
  it('without stuffing, any body cut anywhere comes out as its CRLF-normalised self', () => {
    fc.assert(
      fc.property(chunkedBody, ({ body, chunks }) => {
        expect(run(chunks, false).output).to.deep.equal(crlfNormalise(body));
      }),
      { numRuns: 500 },
    );
  });

  it('with stuffing, any body cut anywhere comes out as its normalised and dot-stuffed self', () => {
    fc.assert(
      fc.property(chunkedBody, ({ body, chunks }) => {
        expect(run(chunks, true).output).to.deep.equal(dotStuff(crlfNormalise(body)));
      }),
      { numRuns: 500 },
    );
  });

  it('counts exactly the normalised content, before stuffing', () => {
    fc.assert(
      fc.property(chunkedBody, fc.boolean(), ({ body, chunks }, stuffDots) => {
        expect(run(chunks, stuffDots).contentBytes).to.equal(crlfNormalise(body).length);
      }),
      { numRuns: 300 },
    );
  });

  it('never writes CRLF.CRLF before the real end of data', () => {
    fc.assert(
      fc.property(chunkedBody, ({ chunks }) => {
        const { output } = run(chunks, true);
        // The content starts a line (after the 354); the terminator "." CRLF follows it.
        const wire = Buffer.concat([CRLF, output, DOT_CRLF]);
        expect(wire.indexOf(END_OF_DATA)).to.equal(output.length);
      }),
      { numRuns: 500 },
    );
  });

  it('never writes a bare CR or a bare LF', () => {
    fc.assert(
      fc.property(chunkedBody, fc.boolean(), ({ chunks }, stuffDots) => {
        const { output } = run(chunks, stuffDots);
        output.forEach((byte, i) => {
          if (byte === CR) expect(output[i + 1], `CR at ${i}`).to.equal(LF);
          if (byte === LF) expect(output[i - 1], `LF at ${i}`).to.equal(CR);
        });
      }),
      { numRuns: 500 },
    );
  });
});
