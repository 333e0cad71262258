import { expect } from 'chai';
import * as sinon from 'sinon';
import { MAX_AUTH_ROUNDS } from '../../lib/dialogue/auth/authenticate';
import { LOGIN } from '../../lib/dialogue/auth/login';
import type { SaslClient } from '../../lib/dialogue/auth/mechanism';
import { MAX_EHLO_KEYWORDS } from '../../lib/dialogue/capabilities';
import { DEFAULT_MAX_LINE_LENGTH, DEFAULT_MAX_LINES, DEFAULT_MAX_REPLY_BYTES } from '../../lib/reply/reply-parser';
import { errorOf, harness, hostileSuite } from './harness';
import { converse, ehloReply, type HostilePeer } from './hostile-server';

// Guarantee 2: memory is bounded by documented limits; past one, ESERVERSYNC and the connection closes.

const base64 = (text: string): string => Buffer.from(text).toString('base64');

/** An EHLO answer that floods the client with `unit` until it hangs up; resolves with the bytes written. */
function floodEhlo(unit: string, written: number[]): (line: string, peer: HostilePeer) => Promise<void> {
  return async (_line, peer) => {
    written.push(await peer.flood(unit));
  };
}

describe('hostile: memory bounded by the reply limits', () => {
  hostileSuite();
  const h = harness();

  it('documents its defaults', () => {
    expect({ DEFAULT_MAX_LINE_LENGTH, DEFAULT_MAX_LINES, DEFAULT_MAX_REPLY_BYTES, MAX_AUTH_ROUNDS, MAX_EHLO_KEYWORDS }).to.deep.equal({
      DEFAULT_MAX_LINE_LENGTH: 4096,
      DEFAULT_MAX_LINES: 256,
      DEFAULT_MAX_REPLY_BYTES: 65_536,
      MAX_AUTH_ROUNDS: 8,
      MAX_EHLO_KEYWORDS: 128,
    });
  });

  it('an endless multi-line EHLO reply: ESERVERSYNC past 256 lines, and the client hangs up on the flood', async () => {
    const written: number[] = [];
    const server = await h.server((peer) => converse(peer, { answers: { EHLO: floodEhlo('250-FLOOD\r\n', written) } }));
    const error = await errorOf(h.session().connect({ host: '127.0.0.1', port: server.port }));
    expect(error.code).to.equal('ESERVERSYNC');
    expect(error.message).to.equal(`Reply has more than ${DEFAULT_MAX_LINES} lines`);
    await server.settled();
    expect(written[0]).to.be.above(DEFAULT_MAX_LINES * 11);
    expect(server.lines).to.not.include('QUIT');
    await h.expectReleased();
  });

  it('a greeting line that never ends: ESERVERSYNC past 4096 octets', async () => {
    const written: number[] = [];
    const server = await h.server(async (peer) => written.push(await peer.flood('220 xxxxxxxxxxxxxxx')));
    const error = await errorOf(h.session().connect({ host: '127.0.0.1', port: server.port }));
    expect(error.code).to.equal('ESERVERSYNC');
    expect(error.message).to.equal(`Reply line longer than ${DEFAULT_MAX_LINE_LENGTH} octets`);
    await server.settled();
    expect(server.peers[0]!.raw.length).to.equal(0);
    await h.expectReleased();
  });

  it('a reply of legal lines that passes 65 536 octets in all: ESERVERSYNC', async () => {
    const line = `250-${'y'.repeat(4000)}\r\n`;
    const server = await h.server((peer) => converse(peer, { answers: { EHLO: `${line.repeat(17)}250 end\r\n` } }));
    const error = await errorOf(h.session().connect({ host: '127.0.0.1', port: server.port }));
    expect(error.code).to.equal('ESERVERSYNC');
    expect(error.message).to.equal(`Reply longer than ${DEFAULT_MAX_REPLY_BYTES} octets`);
  });

  it('the session applies its own maxLines, maxLineLength and maxReplyBytes', async () => {
    const server = await h.server((peer) => converse(peer, { capabilities: ['PIPELINING', 'SIZE 1000', '8BITMIME'] }));
    const lines = await errorOf(h.session({ maxLines: 3 }).connect({ host: '127.0.0.1', port: server.port }));
    const length = await errorOf(h.session({ maxLineLength: 10 }).connect({ host: '127.0.0.1', port: server.port }));
    const bytes = await errorOf(h.session({ maxReplyBytes: 40 }).connect({ host: '127.0.0.1', port: server.port }));
    expect([lines.message, length.message, bytes.message]).to.deep.equal([
      'Reply has more than 3 lines',
      'Reply line longer than 10 octets',
      'Reply longer than 40 octets',
    ]);
  });

  it(`keeps ${MAX_EHLO_KEYWORDS} EHLO keywords`, async () => {
    const keywords = Array.from({ length: MAX_EHLO_KEYWORDS }, (_, i) => `X-K${i}`);
    const server = await h.server((peer) => converse(peer, { capabilities: keywords }));
    const session = await h.connected(server);
    expect(session.capabilities?.size).to.equal(MAX_EHLO_KEYWORDS);
  });

  it(`one EHLO keyword more than ${MAX_EHLO_KEYWORDS}: ESERVERSYNC, no QUIT`, async () => {
    const keywords = Array.from({ length: MAX_EHLO_KEYWORDS + 1 }, (_, i) => `X-K${i}`);
    const server = await h.server((peer) => converse(peer, { capabilities: keywords }));
    const error = await errorOf(h.session().connect({ host: '127.0.0.1', port: server.port }));
    expect(error.code).to.equal('ESERVERSYNC');
    expect(error.command).to.equal('EHLO');
    await server.peers[0]!.closed;
    expect(server.lines).to.not.include('QUIT');
    await h.expectReleased();
  });

  it('a flood of complete replies to nothing after connect: ESERVERSYNC at the first, and the client hangs up', async () => {
    const written: number[] = [];
    const server = await h.server((peer) =>
      converse(peer, {
        answers: {
          EHLO: async (_l, p) => {
            await p.send(ehloReply());
            written.push(await p.flood('250 more\r\n'));
          },
        },
      }),
    );
    const session = h.session();
    session.connect({ host: '127.0.0.1', port: server.port }).subscribe({ error: () => {} });
    await server.received(/^EHLO /);
    await server.settled();
    expect(session.state.status).to.equal('closed');
    expect(session.state.error?.code).to.equal('ESERVERSYNC');
    expect(session.state.error?.message).to.match(/^reply to no command: 250 more/);
    await h.expectReleased();
  });

  describe(`more than ${MAX_AUTH_ROUNDS} AUTH challenges`, () => {
    // No built-in mechanism answers that many; one that would answers every challenge here.
    beforeEach(() => {
      const endless: SaslClient = { initialResponse: () => null, respond: () => Buffer.from('more'), complete: () => {} };
      sinon.stub(LOGIN, 'create').returns(endless);
    });
    afterEach(() => sinon.restore());

    it(`answers ${MAX_AUTH_ROUNDS} challenges, then ESERVERSYNC without answering the next`, async () => {
      const server = await h.server((peer) =>
        converse(peer, {
          capabilities: ['AUTH LOGIN'],
          answers: {
            AUTH: async (_l, p) => {
              for (let line: string | undefined = ''; line !== undefined; line = await p.line()) await p.send(`334 ${base64('again')}\r\n`);
            },
          },
        }),
      );
      const error = await errorOf(h.session({ allowInsecureAuth: true }).connect({ host: '127.0.0.1', port: server.port }, 'alice', 's3cret'));
      expect(error.code).to.equal('ESERVERSYNC');
      expect(error.message).to.equal(`more than ${MAX_AUTH_ROUNDS} AUTH challenges`);
      await server.peers[0]!.closed;
      expect(server.lines.slice(1)).to.deep.equal(['AUTH LOGIN', ...Array<string>(MAX_AUTH_ROUNDS).fill(base64('more'))]);
      await h.expectReleased();
    });
  });
});
