import { expect } from 'chai';
import fc from 'fast-check';
import { SmtpError } from '../../lib/errors';
import type { SmtpReply } from '../../lib/reply/reply';
import {
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_MAX_LINES,
  DEFAULT_MAX_REPLY_BYTES,
  ReplyParser,
  type ReplyLimits,
} from '../../lib/reply/reply-parser';

const FC_RUNS = Number(process.env.FC_RUNS) || 1000;

function parse(text: string | Buffer, limits?: Partial<ReplyLimits>): SmtpReply[] {
  return new ReplyParser(limits).push(typeof text === 'string' ? Buffer.from(text) : text);
}

function parseChunks(chunks: Uint8Array[], parser = new ReplyParser()): SmtpReply[] {
  return chunks.flatMap((chunk) => parser.push(chunk));
}

function syncError(fn: () => unknown): SmtpError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(SmtpError);
    expect((err as SmtpError).code).to.equal('ESERVERSYNC');
    return err as SmtpError;
  }
  expect.fail('expected ESERVERSYNC');
}

describe('ReplyParser', () => {
  describe('replies', () => {
    it('parses a single-line reply', () => {
      expect(parse('220 mail.example.com ESMTP\r\n')).to.deep.equal([{ code: 220, lines: ['mail.example.com ESMTP'] }]);
    });

    it('gives one empty line for a code without text', () => {
      expect(parse('250\r\n')).to.deep.equal([{ code: 250, lines: [''] }]);
    });

    it('gives one empty line for a code followed by a space only', () => {
      expect(parse('250 \r\n')).to.deep.equal([{ code: 250, lines: [''] }]);
    });

    it('parses a multi-line reply', () => {
      expect(parse('250-a\r\n250-\r\n250 b\r\n')).to.deep.equal([{ code: 250, lines: ['a', '', 'b'] }]);
    });

    it('returns every reply a chunk completes, in order', () => {
      expect(parse('250 one\r\n354 go\r\n550-no\r\n550 really\r\n')).to.deep.equal([
        { code: 250, lines: ['one'] },
        { code: 354, lines: ['go'] },
        { code: 550, lines: ['no', 'really'] },
      ]);
    });

    it('returns nothing for an empty chunk', () => {
      expect(parse(Buffer.alloc(0))).to.deep.equal([]);
    });

    it('returns nothing until the final line arrives', () => {
      const parser = new ReplyParser();
      expect(parser.push(Buffer.from('250-a\r\n250 b'))).to.deep.equal([]);
      expect(parser.push(Buffer.from('\r\n'))).to.deep.equal([{ code: 250, lines: ['a', 'b'] }]);
    });

    it('parses the same reply whatever byte it is split at', () => {
      const bytes = Buffer.from('250-mail.example.com\r\n250-SIZE 1000\r\n250 2.0.0 Ok\r\n');
      const whole = parse(bytes);
      for (let at = 0; at <= bytes.length; at++) {
        expect(parseChunks([bytes.subarray(0, at), bytes.subarray(at)]), `split at ${at}`).to.deep.equal(whole);
      }
    });

    it('parses a reply fed one byte at a time', () => {
      const bytes = Buffer.from('250-a\r\n250 b\r\n');
      const chunks = [...bytes].map((byte) => Uint8Array.of(byte));
      expect(parseChunks(chunks)).to.deep.equal([{ code: 250, lines: ['a', 'b'] }]);
    });

    it('accepts a plain Uint8Array that is a view into a larger buffer', () => {
      const backing = new TextEncoder().encode('xx250 ok\r\nyy');
      expect(new ReplyParser().push(backing.subarray(2, 10))).to.deep.equal([{ code: 250, lines: ['ok'] }]);
    });

    it('accepts a bare LF as the end of a line', () => {
      expect(parse('250-a\n250 b\n')).to.deep.equal([{ code: 250, lines: ['a', 'b'] }]);
    });

    it('keeps a CR that is not right before the LF', () => {
      expect(parse('250 a\rb\r\n')).to.deep.equal([{ code: 250, lines: ['a\rb'] }]);
    });

    it('decodes UTF-8 split inside a multibyte character', () => {
      const bytes = Buffer.from('250 Grüße 👋\r\n');
      const inside = bytes.indexOf(0xf0) + 2; // in the middle of the four bytes of the emoji
      expect(parseChunks([bytes.subarray(0, inside), bytes.subarray(inside)])).to.deep.equal([
        { code: 250, lines: ['Grüße 👋'] },
      ]);
    });

    it('does not retain the caller’s chunk: reusing it does not change the partial line', () => {
      const parser = new ReplyParser();
      const chunk = Buffer.from('250 ab');
      parser.push(chunk);
      chunk.fill(0x78);
      expect(parser.push(Buffer.from('c\r\n'))).to.deep.equal([{ code: 250, lines: ['abc'] }]);
    });
  });

  describe('enhanced status codes', () => {
    it('reads an enhanced code that matches the reply class', () => {
      expect(parse('550 5.1.1 User unknown\r\n')).to.deep.equal([
        { code: 550, lines: ['5.1.1 User unknown'], enhanced: { class: 5, subject: 1, detail: 1 } },
      ]);
    });

    it('reads an enhanced code that is the whole text, with multi-digit parts', () => {
      expect(parse('452 4.123.45\r\n')[0]?.enhanced).to.deep.equal({ class: 4, subject: 123, detail: 45 });
    });

    it('reads the enhanced code from the first line of a multi-line reply', () => {
      expect(parse('250-2.1.0 a\r\n250 b\r\n')[0]?.enhanced).to.deep.equal({ class: 2, subject: 1, detail: 0 });
    });

    it('gives none when the text has no enhanced code', () => {
      expect(parse('250 Ok\r\n')[0]).to.not.have.property('enhanced');
    });

    it('gives none when the class differs from the reply code', () => {
      expect(parse('250 5.1.1 odd\r\n')[0]).to.not.have.property('enhanced');
    });

    it('gives none for a 3xx reply', () => {
      expect(parse('354 3.0.0 go\r\n')[0]).to.not.have.property('enhanced');
    });

    it('gives none when a part has more than three digits', () => {
      expect(parse('250 2.1234.0 x\r\n')[0]).to.not.have.property('enhanced');
    });

    it('gives none when the code runs into the text', () => {
      expect(parse('250 2.1.0Ok\r\n')[0]).to.not.have.property('enhanced');
    });

    it('gives none when a part is missing', () => {
      expect(parse('250 2..0 x\r\n')[0]).to.not.have.property('enhanced');
    });
  });

  describe('ESERVERSYNC', () => {
    for (const line of ['abc', '199 no', '600 no', '25', '250x', '2a0 no', '']) {
      it(`rejects the malformed line ${JSON.stringify(line)}`, () => {
        const err = syncError(() => parse(`${line}\r\n`));
        expect(err.message).to.equal(
          `Malformed reply line (expected a code 200-599 then a space, "-" or the end): "${line}"`,
        );
      });
    }

    it('rejects a multi-line reply whose lines carry different codes', () => {
      const err = syncError(() => parse('250-a\r\n251 b\r\n'));
      expect(err.message).to.equal('Reply line with code 251 inside a 250 reply: "251 b"');
    });

    it('sanitizes server text in the message', () => {
      const err = syncError(() => parse('\u001b[31mred\r\n'));
      expect(err.message).to.contain('"\ufffd[31mred"');
    });

    it('accepts a line of exactly maxLineLength octets', () => {
      expect(parse(`250 ${'x'.repeat(12)}\r\n`, { maxLineLength: 16 })).to.have.length(1);
    });

    it('rejects a line of maxLineLength + 1 octets whose LF is in the same chunk', () => {
      const err = syncError(() => parse(`250 ${'x'.repeat(13)}\r\n`, { maxLineLength: 16 }));
      expect(err.message).to.equal('Reply line longer than 16 octets');
    });

    it('accepts a line of maxLineLength octets whose CR and LF come in a later chunk', () => {
      const parser = new ReplyParser({ maxLineLength: 16 });
      parser.push(Buffer.from(`250 ${'x'.repeat(12)}\r`));
      expect(parser.push(Buffer.from('\n'))).to.have.length(1);
    });

    it('rejects an overlong line before its LF arrives, holding no more than the limit', () => {
      const parser = new ReplyParser({ maxLineLength: 16 });
      parser.push(Buffer.from('250 '));
      parser.push(Buffer.from('x'.repeat(12)));
      expect(parser.buffered).to.equal(16);
      syncError(() => parser.push(Buffer.from('x'.repeat(100_000))));
      expect(parser.buffered).to.equal(0);
    });

    it('rejects an overlong line fed one byte at a time as soon as it passes the limit', () => {
      const parser = new ReplyParser({ maxLineLength: 16 });
      for (let i = 0; i < 16; i++) parser.push(Buffer.from('2'));
      syncError(() => parser.push(Buffer.from('2')));
    });

    it('rejects a reply with more than maxLines lines at the first line past the limit', () => {
      const parser = new ReplyParser({ maxLines: 3 });
      parser.push(Buffer.from('250-a\r\n250-b\r\n'));
      const err = syncError(() => parser.push(Buffer.from('250-c\r\n')));
      expect(err.message).to.equal('Reply has more than 3 lines');
    });

    it('accepts a reply of exactly maxLines lines', () => {
      expect(parse('250-a\r\n250-b\r\n250 c\r\n', { maxLines: 3 })).to.have.length(1);
    });

    it('rejects a reply longer than maxReplyBytes', () => {
      const err = syncError(() => parse('250-aaaa\r\n250 bbbb\r\n', { maxReplyBytes: 19 }));
      expect(err.message).to.equal('Reply longer than 19 octets');
    });

    it('accepts a reply of exactly maxReplyBytes octets, terminators included', () => {
      expect(parse('250-aaaa\r\n250 bbbb\r\n', { maxReplyBytes: 20 })).to.have.length(1);
    });

    it('rejects a partial line that cannot fit in maxReplyBytes before its LF arrives', () => {
      const parser = new ReplyParser({ maxReplyBytes: 20 });
      parser.push(Buffer.from('250-aaaa\r\n'));
      syncError(() => parser.push(Buffer.from('250 bbbbbb')));
    });

    it('is dead after an error: every later push throws the same error', () => {
      const parser = new ReplyParser();
      const err = syncError(() => parser.push(Buffer.from('abc\r\n')));
      expect(() => parser.push(Buffer.from('250 ok\r\n'))).to.throw(err);
      expect(() => parser.push(Buffer.alloc(0))).to.throw(err);
    });

    it('feed delivers the replies completed before the error, then throws', () => {
      const parser = new ReplyParser();
      const replies: SmtpReply[] = [];
      syncError(() => parser.feed(Buffer.from('250 queued\r\nxyz\r\n'), (reply) => replies.push(reply)));
      expect(replies).to.deep.equal([{ code: 250, lines: ['queued'] }]);
    });

    it('feed dies of an error thrown by its onReply, as the rest of the chunk is lost', () => {
      const parser = new ReplyParser();
      const boom = new Error('boom');
      expect(() => parser.feed(Buffer.from('250 a\r\n250 b\r\n'), () => { throw boom; })).to.throw(boom);
      expect(() => parser.push(Buffer.from('250 c\r\n'))).to.throw(boom);
    });

    it('feed refuses to be called from its own onReply', () => {
      const parser = new ReplyParser();
      const again = (): void => parser.feed(Buffer.from('250 b\r\n'), () => undefined);
      expect(() => parser.feed(Buffer.from('250 a\r\n'), again)).to.throw(SmtpError).with.property('code', 'EINVAL');
    });
  });

  describe('buffered and idle', () => {
    it('is idle and holds nothing when new', () => {
      const parser = new ReplyParser();
      expect([parser.idle, parser.buffered]).to.deep.equal([true, 0]);
    });

    it('counts the bytes of a partial line', () => {
      const parser = new ReplyParser();
      parser.push(Buffer.from('250 o'));
      expect([parser.idle, parser.buffered]).to.deep.equal([false, 5]);
    });

    it('counts the completed lines of an incomplete multi-line reply', () => {
      const parser = new ReplyParser();
      parser.push(Buffer.from('250-a\r\n250-b\n'));
      expect([parser.idle, parser.buffered]).to.deep.equal([false, 13]);
    });

    it('reports bytes left after a complete reply', () => {
      const parser = new ReplyParser();
      parser.push(Buffer.from('220 ready\r\n250 injected'));
      expect([parser.idle, parser.buffered]).to.deep.equal([false, 12]);
    });

    it('is idle again once the reply completes', () => {
      const parser = new ReplyParser();
      parser.push(Buffer.from('250-a\r\n250 b'));
      parser.push(Buffer.from('\r\n'));
      expect([parser.idle, parser.buffered]).to.deep.equal([true, 0]);
    });
  });

  describe('limits', () => {
    it('exports the documented defaults', () => {
      expect([DEFAULT_MAX_LINE_LENGTH, DEFAULT_MAX_LINES, DEFAULT_MAX_REPLY_BYTES]).to.deep.equal([4096, 256, 65536]);
    });

    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      it(`rejects the limit ${bad} with EINVAL`, () => {
        expect(() => new ReplyParser({ maxLines: bad })).to.throw(SmtpError).with.property('code', 'EINVAL');
      });
    }
  });

  describe('properties', () => {
    interface ModelReply {
      code: number;
      lines: Uint8Array[];
      eol: string;
    }
    const code = fc.integer({ min: 200, max: 599 });
    const eol = fc.constantFrom('\r\n', '\n');
    // No CR or LF in a line's text: either would end the line or be taken for part of its terminator.
    const utf8Text = fc
      .string({ unit: 'grapheme', maxLength: 20 })
      .filter((s) => !/[\r\n]/.test(s))
      .map((s) => Buffer.from(s));
    const anyText = fc.uint8Array({ maxLength: 12 }).map((b) => b.map((x) => (x === 0x0a || x === 0x0d ? 0x3f : x)));
    const model = (text: fc.Arbitrary<Uint8Array>): fc.Arbitrary<ModelReply[]> =>
      fc.array(fc.record({ code, lines: fc.array(text, { minLength: 1, maxLength: 5 }), eol }), { maxLength: 6 });
    const chunkSizes = fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 8 });

    function encode(replies: ModelReply[]): Buffer {
      return Buffer.concat(
        replies.flatMap(({ code, lines, eol }) =>
          lines.map((text, i) => {
            const separator = i === lines.length - 1 ? ' ' : '-';
            return Buffer.concat([Buffer.from(`${code}${separator}`), text, Buffer.from(eol)]);
          }),
        ),
      );
    }

    // Each line decoded on its own, which is what the parser must give however the bytes arrive.
    function expected(replies: ModelReply[]): { code: number; lines: string[] }[] {
      return replies.map(({ code, lines }) => ({ code, lines: lines.map((text) => Buffer.from(text).toString('utf8')) }));
    }

    function withoutEnhanced(replies: SmtpReply[]): { code: number; lines: string[] }[] {
      return replies.map(({ code, lines }) => ({ code, lines }));
    }

    function split(bytes: Buffer, sizes: number[]): Buffer[] {
      if (sizes.length === 0) return [bytes];
      const chunks: Buffer[] = [];
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const size = sizes[i % sizes.length]!;
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      return chunks;
    }

    it('any chunking of a valid stream yields the same replies as one chunk', () => {
      fc.assert(
        fc.property(model(utf8Text), chunkSizes, (replies, sizes) => {
          const whole = parse(encode(replies));
          expect(withoutEnhanced(whole)).to.deep.equal(expected(replies));
          expect(parseChunks(split(encode(replies), sizes))).to.deep.equal(whole);
        }),
        { numRuns: FC_RUNS },
      );
    });

    it('any chunking of lines with arbitrary bytes, broken UTF-8 included, decodes each line alone', () => {
      fc.assert(
        fc.property(model(anyText), chunkSizes, (replies, sizes) => {
          expect(withoutEnhanced(parseChunks(split(encode(replies), sizes)))).to.deep.equal(expected(replies));
        }),
        { numRuns: FC_RUNS },
      );
    });

    it('arbitrary bytes throw only ESERVERSYNC and never hold more than the limits', () => {
      const limits = { maxLineLength: 16, maxLines: 4, maxReplyBytes: 48 };
      const fragment = fc.oneof(
        fc.uint8Array({ maxLength: 24 }),
        fc.constantFrom('250-', '250 ', '251 ', '\r\n', '\n', '\r', 'ok', '2', '5.1.1 ').map((s) => Buffer.from(s)),
      );
      fc.assert(
        fc.property(fc.array(fragment, { maxLength: 40 }), (chunks) => {
          const parser = new ReplyParser(limits);
          for (const chunk of chunks) {
            try {
              parser.push(chunk);
            } catch (err) {
              expect(err).to.be.instanceOf(SmtpError);
              expect((err as SmtpError).code).to.equal('ESERVERSYNC');
              return;
            }
            expect(parser.buffered).to.be.at.most(limits.maxLineLength + limits.maxReplyBytes);
          }
        }),
        { numRuns: FC_RUNS },
      );
    });
  });
});
