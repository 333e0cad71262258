import { expect } from 'chai';
import fc from 'fast-check';
import { BodyEncoder } from '../../lib/body/encoder';
import { SmtpError } from '../../lib/errors';
import { ReplyParser, type ReplyLimits } from '../../lib/reply/reply-parser';
import type { SmtpReply } from '../../lib/reply/reply';
import { crlfNormalise } from '../body/expected';
import { endOfDataViolations, unstuff } from './end-of-data';

// Property tests for the two byte-level defences, complementing test/reply/reply-parser.test.ts
// (valid streams under any chunking; fixed limits) and test/body/encoder.property.test.ts (strict
// CRLF.CRLF, bare CR/LF): here arbitrary, hostile streams with random limits, errors included, and
// bodies judged as every lax receiver reads them (NUL-dropping ones too). FC_RUNS=20000 for more.

const FC_RUNS = Number(process.env.FC_RUNS) || 5_000;

/** Bytes that look like replies often enough to reach every state, and garbage. */
const replyishFragment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('250', '250-', '250 ', '354 ', '421 ', '550-', '5.1.1 ', 'ok', '\r\n', '\n', '\r', '\0', '\u001b[2J', '-', ' ').map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }).map((n) => Buffer.alloc(n, 'x')) },
);
const stream = fc.array(replyishFragment, { maxLength: 30 }).map((parts) => Buffer.concat(parts));
const limits: fc.Arbitrary<ReplyLimits> = fc.record({
  maxLineLength: fc.integer({ min: 1, max: 64 }),
  maxLines: fc.integer({ min: 1, max: 6 }),
  maxReplyBytes: fc.integer({ min: 1, max: 160 }),
});
/** Cut points: the stream is split at each (modulo its length), empty chunks included. */
const cuts = fc.array(fc.nat(), { maxLength: 20 });

function split(bytes: Buffer, at: number[]): Buffer[] {
  const points = at.map((p) => p % (bytes.length + 1)).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

/** Feeds the chunks as a connection does; what came out, and the error code it died of, if any. */
function run(chunks: Buffer[], parserLimits: ReplyLimits, onFeed: (parser: ReplyParser) => void = () => {}) {
  const parser = new ReplyParser(parserLimits);
  const replies: SmtpReply[] = [];
  for (const chunk of chunks) {
    try {
      parser.feed(chunk, (reply) => replies.push(reply));
    } catch (err) {
      if (!(err instanceof SmtpError)) throw new Error(`threw a non-SmtpError: ${String(err)}`);
      return { replies, code: err.code, parser, err };
    }
    onFeed(parser);
  }
  return { replies, code: undefined, parser, err: undefined };
}

describe('hostile: property tests', function () {
  this.timeout(60_000);

  describe('the reply parser, fed hostile bytes', () => {
    it('throws nothing but ESERVERSYNC SmtpErrors, whatever the bytes, limits and chunking', () => {
      fc.assert(
        fc.property(stream, limits, cuts, (bytes, l, at) => {
          const { code } = run(split(bytes, at), l);
          if (code !== undefined) expect(code).to.equal('ESERVERSYNC');
        }),
        { numRuns: FC_RUNS },
      );
    });

    it('never holds more than maxReplyBytes of a hostile reply, whatever the chunking', () => {
      fc.assert(
        fc.property(stream, limits, cuts, (bytes, l, at) => {
          run(split(bytes, at), l, (parser) => {
            expect(parser.buffered).to.be.at.most(l.maxReplyBytes);
          });
        }),
        { numRuns: FC_RUNS },
      );
    });

    it('yields the same replies, then the same error, under any chunking', () => {
      fc.assert(
        fc.property(stream, limits, cuts, (bytes, l, at) => {
          const whole = run([bytes], l);
          const chunked = run(split(bytes, at), l);
          expect(chunked.replies).to.deep.equal(whole.replies);
          expect(chunked.code).to.equal(whole.code);
        }),
        { numRuns: FC_RUNS },
      );
    });

    it('takes an empty chunk after a held line of maxLineLength + 1 octets ending in CR (found by the property above)', () => {
      const parser = new ReplyParser({ maxLineLength: 5, maxLines: 1, maxReplyBytes: 7 });
      parser.push(Buffer.from('250- \r'));
      expect(() => parser.push(Buffer.alloc(0))).to.not.throw();
      expect(parser.buffered).to.equal(6);
    });

    it('once dead, throws its error again on every later chunk, delivering nothing', () => {
      fc.assert(
        fc.property(stream, limits, replyishFragment, (bytes, l, more) => {
          const { err, parser } = run([bytes], l);
          if (err === undefined) return;
          expect(() => parser.feed(more, () => expect.fail('a dead parser delivered a reply'))).to.throw(err.message);
        }),
        { numRuns: FC_RUNS },
      );
    });

    it('puts no control character of the server’s in its error messages', () => {
      fc.assert(
        fc.property(stream, limits, (bytes, l) => {
          const { err } = run([bytes], l);
          if (err !== undefined) expect(err.message).to.not.match(/[\u0000-\u001f\u007f-\u009f]/);
        }),
        { numRuns: FC_RUNS },
      );
    });
  });

  describe('the body encoder, fed hostile bodies', () => {
    /** Bodies rich in what smuggling is made of: CR, LF, dots and NULs. */
    const body = fc
      .array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0x0d, 0x0a, 0x2e, 0x00) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }), {
        maxLength: 200,
      })
      .map((b) => Buffer.from(b));

    function encode(chunks: Buffer[], stuffDots: boolean): { output: Buffer; contentBytes: number } {
      const encoder = new BodyEncoder(stuffDots);
      const output = Buffer.concat([...chunks.flatMap((chunk) => encoder.push(chunk)), ...encoder.end()]);
      return { output, contentBytes: encoder.contentBytes };
    }

    it('DATA: no receiver, strict, lax or NUL-dropping, finds an end of data in it, under any chunking', () => {
      fc.assert(
        fc.property(body, cuts, (b, at) => {
          expect(endOfDataViolations(encode(split(b, at), true).output)).to.deep.equal([]);
        }),
        { numRuns: FC_RUNS },
      );
    });

    it('DATA: a strict receiver gets the CRLF-normalised body back, and contentBytes counts it', () => {
      fc.assert(
        fc.property(body, cuts, (b, at) => {
          const { output, contentBytes } = encode(split(b, at), true);
          const expected = crlfNormalise(b);
          expect(unstuff(output).equals(expected)).to.equal(true);
          expect(contentBytes).to.equal(expected.length);
        }),
        { numRuns: FC_RUNS },
      );
    });

    it('BDAT: the same bytes under any chunking, with no bare CR or LF', () => {
      fc.assert(
        fc.property(body, cuts, (b, at) => {
          const { output } = encode(split(b, at), false);
          expect(output.equals(crlfNormalise(b))).to.equal(true);
          expect(endOfDataViolations(output).filter((v) => /bare/.test(v))).to.deep.equal([]);
        }),
        { numRuns: FC_RUNS },
      );
    });
  });
});
