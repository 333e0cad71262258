import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import type { Mail } from '../../lib/mail/mail';
import type { SmtpSession } from '../../lib/session';
import { type MiniSink, type MiniSinkOptions, startMiniSink } from '../../bench/sinks/mini-sink';
import { DEFAULT_WINDOW_MAILS } from '../../lib/send/window';
import { checkLeaks } from '../fixtures/handles';
import { connectTo } from './helpers';

/**
 * Round trips ("turns") per message, counted by the benchmark's sink: it answers everything one
 * socket read gave it in one write, so each time the client stops to wait for replies is one turn.
 * The counts are exact, not timed: they are what `npm run bench` reports as round trips/message.
 */
describe('send/round-trips', () => {
  let sink: MiniSink | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    session?.dispose();
    await sink?.close();
    sink = session = undefined;
  });
  checkLeaks();

  const mails = (count: number): Mail[] =>
    Array.from({ length: count }, (_, i) => ({ from: 'a@example.test', to: `rcpt${i}@example.test`, body: `Subject: ${i}\r\n\r\nbody ${i}\r\n` }));

  /** Turns the sink took while one `sendAll` of `count` mails ran on a connected session. */
  async function turnsFor(options: MiniSinkOptions, count: number, sessionOptions = {}): Promise<number> {
    sink ??= await startMiniSink(options);
    session = await connectTo(sink.port, sessionOptions);
    sink.resetCounts();
    const outcomes = await lastValueFrom(session.sendAll(mails(count)).pipe(toArray()));
    expect(outcomes.map((o) => o.ok)).to.deep.equal(Array(count).fill(true));
    expect(sink.messages).to.equal(count);
    const turns = sink.turns;
    await lastValueFrom(session.quit());
    session.dispose();
    session = undefined;
    return turns;
  }

  describe('with PIPELINING', () => {
    it('takes one turn per message, plus one for the last end of data', async () => {
      expect(await turnsFor({ pipelining: true }, 20)).to.equal(21);
    });

    it('costs exactly one more turn for each more message (steady state)', async () => {
      const ten = await turnsFor({ pipelining: true }, 10);
      const thirty = await turnsFor({ pipelining: true }, 30);
      expect((thirty - ten) / 20).to.equal(1);
    });
  });

  describe('without PIPELINING', () => {
    it('goes in lock-step: MAIL, RCPT, DATA and the end of data each take a turn', async () => {
      expect(await turnsFor({}, 10)).to.equal(4 * 10);
    });

    it('takes one more turn per extra recipient', async () => {
      sink = await startMiniSink({});
      session = await connectTo(sink.port);
      sink.resetCounts();
      await lastValueFrom(session.send({ from: 'a@example.test', to: ['b@example.test', 'c@example.test'], body: 'x\r\n' }));
      expect(sink.turns).to.equal(5);
    });
  });

  describe('with CHUNKING', () => {
    it('keeps a window of whole BDAT mails in flight: one turn per window of messages', async () => {
      const count = 4 * DEFAULT_WINDOW_MAILS;
      expect(await turnsFor({ pipelining: true, chunking: true }, count)).to.equal(count / DEFAULT_WINDOW_MAILS);
    });

    it('costs less than one turn per message in steady state (DATA still costs one)', async () => {
      const chunked = async (n: number) => turnsFor({ pipelining: true, chunking: true }, n);
      // Whole windows apart, so that the batches' first and last turns cancel out.
      const extra = 2 * DEFAULT_WINDOW_MAILS;
      const perMessage = ((await chunked(20 + extra)) - (await chunked(20))) / extra;
      expect(perMessage).to.be.greaterThan(0).and.lessThan(1);
      expect(perMessage).to.equal(1 / DEFAULT_WINDOW_MAILS);
      // turnsFor keeps the sink it started: a new one without CHUNKING.
      await sink?.close();
      sink = undefined;
      const data = async (n: number) => turnsFor({ pipelining: true }, n);
      expect(((await data(60)) - (await data(20))) / 40).to.equal(1);
    });

    it('a single BDAT mail takes one turn: written whole, MAIL, RCPT and BDAT LAST with its content', async () => {
      expect(await turnsFor({ pipelining: true, chunking: true }, 1)).to.equal(1);
    });

    // Issue 10, defect 14: the README promised a round trip per window of messages with CHUNKING,
    // which LMTP cannot have: how many replies follow BDAT LAST depends on the RCPT replies.
    it('under LMTP goes envelope first, BDAT LAST after the RCPT replies: one turn per message, as DATA', async () => {
      expect(await turnsFor({ pipelining: true, chunking: true }, 20, { lmtp: true })).to.equal(21);
    });

    it('goes in lock-step when CHUNKING comes without PIPELINING', async () => {
      // MAIL, RCPT, then BDAT LAST: three turns a message.
      expect(await turnsFor({ chunking: true }, 10)).to.equal(3 * 10);
    });
  });
});
