import { Readable } from 'node:stream';
import { expect } from 'chai';
import { Subject, of } from 'rxjs';
import { bodySource } from '../../lib/body/source';
import { SmtpError } from '../../lib/errors';
import type { MailBody } from '../../lib/mail/mail';

/** Reads a streamed body to the end; fails the test if it was not classified as a stream. */
async function collect(body: MailBody): Promise<string> {
  const source = bodySource(body);
  if (source.kind !== 'stream') throw new Error('expected a stream');
  const chunks: Buffer[] = [];
  for await (const chunk of source.chunks) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

describe('body/source', () => {
  it('keeps a string in memory as UTF-8', () => {
    const source = bodySource('é');
    expect(source.kind).to.equal('memory');
    expect(source.kind === 'memory' && [...source.bytes]).to.deep.equal([0xc3, 0xa9]);
  });

  it('keeps a Uint8Array in memory, only its own window', () => {
    const source = bodySource(new Uint8Array([1, 2, 3, 4]).subarray(1, 3));
    expect(source.kind === 'memory' && [...source.bytes]).to.deep.equal([2, 3]);
  });

  it('streams a Node Readable', async () => {
    expect(await collect(Readable.from([Buffer.from('a'), Buffer.from('b')]))).to.equal('ab');
  });

  it('streams a Node Readable that yields strings (an encoding was set) as UTF-8 bytes', async () => {
    const body = Readable.from([Buffer.from('caf'), Buffer.from('é\r\n')]).setEncoding('utf8');
    const source = bodySource(body);
    if (source.kind !== 'stream') throw new Error('expected a stream');
    const chunks: Uint8Array[] = [];
    for await (const chunk of source.chunks) chunks.push(chunk);
    expect(chunks.every((c) => c instanceof Uint8Array)).to.equal(true);
    expect(Buffer.concat(chunks).toString('utf8')).to.equal('café\r\n');
  });

  it('streams an async iterable', async () => {
    async function* chunks(): AsyncIterable<Uint8Array> {
      yield Buffer.from('x');
      yield Buffer.from('y');
    }
    expect(await collect(chunks())).to.equal('xy');
  });

  it('streams an Observable, in order', async () => {
    expect(await collect(of(Buffer.from('1'), Buffer.from('2'), Buffer.from('3')))).to.equal('123');
  });

  it("rethrows an Observable's error after the chunks before it", async () => {
    const subject = new Subject<Uint8Array>();
    const source = bodySource(subject);
    if (source.kind !== 'stream') throw new Error('expected a stream');
    const seen: string[] = [];
    const reading = (async () => {
      for await (const chunk of source.chunks) seen.push(Buffer.from(chunk).toString());
    })();
    subject.next(Buffer.from('first'));
    subject.error(new Error('disk gone'));
    let error: unknown;
    await reading.catch((err: unknown) => (error = err));
    expect(seen).to.deep.equal(['first']);
    expect((error as Error).message).to.equal('disk gone');
  });

  it('unsubscribes from an Observable when the reader stops early', async () => {
    const subject = new Subject<Uint8Array>();
    const source = bodySource(subject);
    if (source.kind !== 'stream') throw new Error('expected a stream');
    const reading = (async () => {
      for await (const _ of source.chunks) break;
    })();
    subject.next(Buffer.from('one'));
    await reading;
    expect(subject.observed).to.equal(false);
  });

  it('refuses anything else with EINVAL', () => {
    for (const body of [42, null, { length: 3 }] as unknown as MailBody[]) {
      let error: unknown;
      try {
        bodySource(body);
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(SmtpError);
      expect((error as SmtpError).code).to.equal('EINVAL');
    }
  });
});
