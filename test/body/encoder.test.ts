import { expect } from 'chai';
import { BodyEncoder, encodeBody } from '../../lib/body/encoder';
import { SMUGGLING, crlfNormalise, dotStuff, show, smugglingBody } from './expected';

/** Feeds the chunks through one encoder; returns everything it wrote and its content count. */
function encode(chunks: (string | Uint8Array)[], stuffDots = true): { text: string; contentBytes: number } {
  const encoder = new BodyEncoder(stuffDots);
  const pieces = chunks.flatMap((chunk) => encoder.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk));
  pieces.push(...encoder.end());
  return { text: Buffer.concat(pieces).toString('latin1'), contentBytes: encoder.contentBytes };
}

const END_OF_DATA = '\r\n.\r\n';

describe('body/encoder', () => {
  describe('line endings', () => {
    it('passes CRLF lines through unchanged', () => {
      expect(encode(['Subject: a\r\n\r\nbody\r\n']).text).to.equal('Subject: a\r\n\r\nbody\r\n');
    });

    it('hands well-formed input back as a view of the same memory, without copying', () => {
      const chunk = Buffer.from('line one\r\nline two\r\n');
      const pieces = new BodyEncoder(true).push(chunk);
      expect(pieces).to.have.length(1);
      expect(pieces[0]!.buffer).to.equal(chunk.buffer);
      expect(pieces[0]!.byteOffset).to.equal(chunk.byteOffset);
    });

    it('turns a bare LF into CRLF', () => {
      expect(encode(['a\nb\n']).text).to.equal('a\r\nb\r\n');
    });

    it('turns a bare CR into CRLF', () => {
      expect(encode(['a\rb\r']).text).to.equal('a\r\nb\r\n');
    });

    it('turns CR CR LF into two line endings', () => {
      expect(encode(['a\r\r\nb\r\n']).text).to.equal('a\r\n\r\nb\r\n');
    });

    it('keeps a CRLF split between two chunks as one line ending', () => {
      expect(encode(['a\r', '\nb\r\n']).text).to.equal('a\r\nb\r\n');
    });

    it('ends the line of a CR at the end of a chunk when the next chunk goes on with text', () => {
      expect(encode(['a\r', 'b\r\n']).text).to.equal('a\r\nb\r\n');
    });

    it('keeps the owed line ending of a CR across an empty chunk', () => {
      expect(encode(['a\r', '', '\nb']).text).to.equal('a\r\nb\r\n');
    });

    it('ends a body whose last chunk ends in CR with one CRLF', () => {
      expect(encode(['a\r']).text).to.equal('a\r\n');
    });

    it('adds the missing final CRLF', () => {
      expect(encode(['no newline']).text).to.equal('no newline\r\n');
    });

    it('leaves an empty body empty', () => {
      expect(encode([]).text).to.equal('');
      expect(encode(['', '']).text).to.equal('');
    });

    it('accepts a Uint8Array that is a window into a larger buffer', () => {
      const backing = new Uint8Array(Buffer.from('xxa\nbyy', 'latin1'));
      expect(encode([backing.subarray(2, 5)]).text).to.equal('a\r\nb\r\n');
    });
  });

  describe('dot-stuffing (DATA)', () => {
    it('doubles a dot at the start of a line', () => {
      expect(encode(['.hidden\r\nvisible .dot\r\n']).text).to.equal('..hidden\r\nvisible .dot\r\n');
    });

    it('turns a lone "." line into ".."', () => {
      expect(encode(['a\r\n.\r\nb\r\n']).text).to.equal('a\r\n..\r\nb\r\n');
    });

    it('stuffs a body that is only "."', () => {
      expect(encode(['.']).text).to.equal('..\r\n');
    });

    it('stuffs a dot that starts a chunk after a chunk that ended a line', () => {
      expect(encode(['a\r\n', '.b\r\n']).text).to.equal('a\r\n..b\r\n');
    });

    it('stuffs a dot that starts a chunk after a chunk that ended in CR', () => {
      expect(encode(['a\r', '.b']).text).to.equal('a\r\n..b\r\n');
    });

    it('stuffs a dot after a bare LF and after a bare CR', () => {
      expect(encode(['a\n.b\r.c']).text).to.equal('a\r\n..b\r\n..c\r\n');
    });

    it('leaves leading dots alone for BDAT, which needs no stuffing', () => {
      expect(encode(['.a\n.\n'], false).text).to.equal('.a\r\n.\r\n');
    });
  });

  describe('contentBytes', () => {
    it('counts the normalised content', () => {
      expect(encode(['a\nb']).contentBytes).to.equal('a\r\nb\r\n'.length);
    });

    it('does not count the dots added by stuffing', () => {
      const { text, contentBytes } = encode(['.a\r\n.\r\n']);
      expect(text).to.equal('..a\r\n..\r\n');
      expect(contentBytes).to.equal('.a\r\n.\r\n'.length);
    });

    it('is 0 for an empty body', () => {
      expect(encode([]).contentBytes).to.equal(0);
    });
  });

  describe('SMTP smuggling', () => {
    for (const sequence of SMUGGLING) {
      it(`neutralises ${show(sequence)}: the only end of data is the real one`, () => {
        const body = smugglingBody(sequence);
        const { text } = encode([body]);
        expect(text).to.equal(dotStuff(crlfNormalise(body)).toString('latin1'));
        expect(`\r\n${text}.\r\n`.indexOf(END_OF_DATA)).to.equal(text.length);
      });

      it(`neutralises ${show(sequence)} split one byte per chunk`, () => {
        const body = smugglingBody(sequence);
        const { text } = encode([...Buffer.from(body, 'latin1')].map((byte) => Buffer.from([byte])));
        expect(text).to.equal(encode([body]).text);
      });
    }
  });

  describe('encodeBody', () => {
    it('encodes a whole body and counts its content', () => {
      const { data, contentBytes } = encodeBody(Buffer.from('.\n'), true);
      expect(data.toString('latin1')).to.equal('..\r\n');
      expect(contentBytes).to.equal(3);
    });

    it('returns an empty buffer for an empty body', () => {
      const { data, contentBytes } = encodeBody(Buffer.alloc(0), true);
      expect(data.length).to.equal(0);
      expect(contentBytes).to.equal(0);
    });
  });
});
