import { expect } from 'chai';
import type { Mail, SendOutcome } from '../../lib/mail/mail';
import { crlfNormalise, show, smugglingBody } from '../body/expected';
import { SMUGGLING_PAYLOADS, endOfDataViolations, unstuff } from './end-of-data';
import { harness, hostileSuite, watch } from './harness';
import { converse } from './hostile-server';

// Guarantee 4: the body can never produce an end of data other than the real one, for any
// payload, however the body is chunked: cut at every byte in two, and fed one byte at a time.
// (test/body/encoder.test.ts checks the encoder alone on the ten classic payloads; the interop
// tests run them through smtp-server and Postfix. Here: the raw bytes a server receives, judged
// as every lax receiver would read them, NUL-dropping ones included.)

const SENDER = 'a@example.test';

async function* chunks(parts: Buffer[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
}

/** The body whole, streamed cut in two at every byte, and streamed one byte per chunk. */
function everyChunking(body: Buffer): Mail['body'][] {
  const cuts = Array.from({ length: body.length + 1 }, (_, k) => chunks([body.subarray(0, k), body.subarray(k)]));
  const bytes = chunks([...body].map((b) => Buffer.of(b)));
  return [body, ...cuts, bytes];
}

describe('hostile: no SMTP smuggling through the body', () => {
  hostileSuite();
  const h = harness();

  for (const payload of SMUGGLING_PAYLOADS) {
    it(`"${show(payload)}": one end of data per mail, at its end, under every chunking`, async () => {
      const body = Buffer.from(smugglingBody(payload));
      const contents: Buffer[] = [];
      const server = await h.server((peer) => converse(peer, { capabilities: ['PIPELINING'], contents }));
      const session = await h.connected(server);
      const mails: Mail[] = everyChunking(body).map((b) => ({ from: SENDER, to: 'b@example.test', body: b }));
      const sending = watch(session.sendAll(mails));
      await sending.ended;
      expect(sending.error).to.equal(undefined);
      expect(sending.values.filter((o: SendOutcome) => o.ok)).to.have.length(mails.length);
      // The strict server found exactly one end of data per mail, and no smuggled command.
      expect(contents).to.have.length(mails.length);
      expect(server.lines.filter((l) => l.startsWith('MAIL FROM:'))).to.deep.equal(mails.map(() => `MAIL FROM:<${SENDER}>`));
      expect(server.lines).to.not.include('MAIL FROM:<evil@example.test>');
      const expected = crlfNormalise(body);
      contents.forEach((content, i) => {
        expect(endOfDataViolations(content), `mail ${i}`).to.deep.equal([]);
        expect(unstuff(content).equals(expected), `mail ${i} content`).to.equal(true);
      });
    });
  }

  it('a body that is only NULs and dots, one byte per chunk, is never a lone "." line once NULs are dropped', async () => {
    const body = Buffer.from('\0\r\n\0.\r\n\0\0.\0\r\n.\0\r\n\0\0\0\n.\r\0');
    const contents: Buffer[] = [];
    const server = await h.server((peer) => converse(peer, { contents }));
    const session = await h.connected(server);
    const sending = watch(session.sendAll(everyChunking(body).map((b) => ({ from: SENDER, to: 'b@example.test', body: b }))));
    await sending.ended;
    expect(sending.error).to.equal(undefined);
    for (const content of contents) {
      expect(endOfDataViolations(content)).to.deep.equal([]);
      expect(unstuff(content).equals(crlfNormalise(body))).to.equal(true);
    }
  });
});
