import { expect } from 'chai';
import { filter, firstValueFrom } from 'rxjs';
import { SendAllError } from '../../lib/send/send-all-error';
import { DEFAULT_TIMEOUT_MS } from '../../lib/options';
import type { SessionStatus } from '../../lib/dialogue/transition';
import type { SendOutcome } from '../../lib/mail/mail';
import type { SmtpSession } from '../../lib/session';
import { harness, hostileSuite, watch, type Watched } from './harness';
import { converse, turns, type HostilePeer } from './hostile-server';

// Guarantee 1: every operation ends, within its timeout, whatever the server does.

const TIMEOUT = 5_000;
const MAIL = { from: 'a@example.test', to: 'b@example.test', body: 'Subject: t\r\n\r\nhi\r\n' };

/** A peer that waits until the client closes, and never says anything again. */
const silence = (_line: string, peer: HostilePeer): Promise<void> => peer.closed;

function reach(session: SmtpSession, status: SessionStatus): Promise<unknown> {
  return firstValueFrom(session.state$.pipe(filter((s) => s.status === status)));
}

describe('hostile: every operation ends within its timeout', () => {
  hostileSuite();
  const h = harness({ fakeTime: true });

  /** Ticks to one ms before the deadline (nothing may have ended), then to the deadline. */
  async function expectDeadline(watched: Watched<unknown>, ms: number): Promise<void> {
    await h.clock.tickAsync(ms - 1);
    expect(watched.done, 'ended before its timeout').to.equal(false);
    await h.clock.tickAsync(1);
    await watched.ended;
  }

  describe('connect', () => {
    it('a server that never greets: ETIMEDOUT at the timeout to the ms, nothing written', async () => {
      const server = await h.server((peer) => peer.closed);
      const session = h.session({ timeout: TIMEOUT });
      const connecting = watch(session.connect({ host: '127.0.0.1', port: server.port }));
      await reach(session, 'greeting');
      await expectDeadline(connecting, TIMEOUT);
      expect(connecting.error?.code).to.equal('ETIMEDOUT');
      expect(server.peers[0]!.raw.length).to.equal(0);
      await h.expectReleased();
    });

    it('the default timeout is 60 s', async () => {
      const server = await h.server((peer) => peer.closed);
      const session = h.session();
      const connecting = watch(session.connect({ host: '127.0.0.1', port: server.port }));
      await reach(session, 'greeting');
      await expectDeadline(connecting, DEFAULT_TIMEOUT_MS);
      expect(DEFAULT_TIMEOUT_MS).to.equal(60_000);
      expect(connecting.error?.code).to.equal('ETIMEDOUT');
    });

    it('a greeting trickled one byte per segment never completing: ETIMEDOUT at the timeout, bytes or not', async () => {
      let peer!: HostilePeer;
      const server = await h.server((p) => void (peer = p));
      const session = h.session({ timeout: TIMEOUT });
      const connecting = watch(session.connect({ host: '127.0.0.1', port: server.port }));
      await reach(session, 'greeting');
      for (const byte of '220-still talking') {
        await peer.send(byte);
        await turns(3);
        await h.clock.tickAsync(TIMEOUT / 20);
      }
      expect(connecting.done).to.equal(false);
      await h.clock.tickAsync(TIMEOUT - (17 * TIMEOUT) / 20);
      await connecting.ended;
      expect(connecting.error?.code).to.equal('ETIMEDOUT');
      await h.expectReleased();
    });

    it('an EHLO reply that stops after its first line: ETIMEDOUT, and no QUIT to a server out of step', async () => {
      const server = await h.server((peer) =>
        converse(peer, { answers: { EHLO: async (_l, p) => (await p.send('250-hostile.test\r\n250-PIPELINING\r\n'), p.closed) } }),
      );
      const session = h.session({ timeout: TIMEOUT });
      const connecting = watch(session.connect({ host: '127.0.0.1', port: server.port }));
      await server.received(/^EHLO /);
      await expectDeadline(connecting, TIMEOUT);
      expect(connecting.error?.code).to.equal('ETIMEDOUT');
      expect(connecting.error?.command).to.match(/^EHLO /);
      expect(server.lines.map((l) => l.split(' ')[0])).to.deep.equal(['EHLO']);
      await h.expectReleased();
    });

    it('AUTH never answered: ETIMEDOUT, and the session is closed with that error', async () => {
      const server = await h.server((peer) => converse(peer, { capabilities: ['AUTH PLAIN'], answers: { AUTH: silence } }));
      const session = h.session({ timeout: TIMEOUT, allowInsecureAuth: true });
      const connecting = watch(session.connect({ host: '127.0.0.1', port: server.port }, 'alice', 's3cret'));
      await server.received(/^AUTH PLAIN /);
      await expectDeadline(connecting, TIMEOUT);
      expect(connecting.error?.code).to.equal('ETIMEDOUT');
      expect(session.state.status).to.equal('closed');
      expect(session.state.error?.code).to.equal('ETIMEDOUT');
      await h.expectReleased();
    });
  });

  describe('send and sendAll', () => {
    it('send: no reply to the end of data: ETIMEDOUT, the mail uncertain', async () => {
      const server = await h.server((peer) => converse(peer, { answers: { '.': silence } }));
      const session = await h.connected(server, { timeout: TIMEOUT });
      const sending = watch(session.send(MAIL));
      await waitForData(server.peers[0]!);
      await expectDeadline(sending, TIMEOUT);
      expect(sending.error).to.be.instanceOf(SendAllError);
      expect(sending.error?.code).to.equal('ETIMEDOUT');
      expect((sending.error as SendAllError).uncertain.map((r) => r.mail)).to.deep.equal([MAIL]);
      await h.expectReleased();
    });

    it('sendAll: pipelined MAIL, RCPT and DATA never answered: ETIMEDOUT, every mail not sent', async () => {
      const server = await h.server((peer) => converse(peer, { capabilities: ['PIPELINING'], answers: { MAIL: silence } }));
      const session = await h.connected(server, { timeout: TIMEOUT });
      const mails = [MAIL, { ...MAIL, to: 'c@example.test' }];
      const sending = watch(session.sendAll(mails));
      await server.received(/^MAIL FROM:/);
      await expectDeadline(sending, TIMEOUT);
      const error = sending.error as SendAllError;
      expect(error.code).to.equal('ETIMEDOUT');
      expect({ delivered: error.delivered, uncertain: error.uncertain, notSent: error.notSent }).to.deep.equal({
        delivered: [],
        uncertain: [],
        notSent: mails.map((mail, index) => ({ index, mail })),
      });
      await h.expectReleased();
    });

    it('sendAll: the 250 to the end of data trickled slower than the timeout: ETIMEDOUT, bytes do not extend it', async () => {
      let peer!: HostilePeer;
      const server = await h.server((p) => converse((peer = p), { answers: { '.': () => undefined } }));
      const session = await h.connected(server, { timeout: TIMEOUT });
      const sending = watch(session.sendAll([MAIL]));
      await waitForData(peer);
      for (const byte of '250 2.0.0 queued') {
        await peer.send(byte);
        await turns(3);
        await h.clock.tickAsync(TIMEOUT / 20);
      }
      await h.clock.tickAsync(TIMEOUT - (16 * TIMEOUT) / 20);
      await sending.ended;
      expect(sending.error?.code).to.equal('ETIMEDOUT');
      expect((sending.error as SendAllError).uncertain.map((r) => r.mail)).to.deep.equal([MAIL]);
      await h.expectReleased();
    });

    it('sendAll: a server that stops reading a streamed body: ETIMEDOUT, the generator is closed', async () => {
      const server = await h.server((peer) =>
        converse(peer, { answers: { DATA: async (_l, p) => (await p.send('354 go\r\n'), p.socket.pause(), p.closed) } }),
      );
      const session = await h.connected(server, { timeout: TIMEOUT });
      let finished = false;
      async function* endless(): AsyncGenerator<Uint8Array> {
        try {
          for (;;) yield Buffer.alloc(65_536, 'x');
        } finally {
          finished = true;
        }
      }
      const sending = watch(session.sendAll([{ ...MAIL, body: endless() }]));
      await server.received('DATA');
      for (let i = 0; i < 50 && !sending.done; i++) {
        await turns(5);
        await h.clock.tickAsync(TIMEOUT);
      }
      expect(sending.error?.code).to.equal('ETIMEDOUT');
      expect(sending.error?.message).to.match(/read nothing/);
      // Its body was read in part and cannot be read again: never "not sent" (safe to retry), but failed.
      expect((sending.error as SendAllError).notSent).to.have.length(0);
      expect(sending.values.map((o: SendOutcome) => (o.ok ? 'ok' : o.error.code))).to.deep.equal(['EIO']);
      expect(finished, 'the body generator was closed').to.equal(true);
      await h.expectReleased();
    });
  });

  describe('quit and noop', () => {
    it('quit: QUIT never answered: ETIMEDOUT at the timeout, and closed', async () => {
      const server = await h.server((peer) => converse(peer, { answers: { QUIT: silence } }));
      const session = await h.connected(server, { timeout: TIMEOUT });
      const quitting = watch(session.quit());
      await server.received('QUIT');
      await expectDeadline(quitting, TIMEOUT);
      expect(quitting.error?.code).to.equal('ETIMEDOUT');
      expect(session.state.status).to.equal('closed');
      await h.expectReleased();
    });

    it('noop: NOOP never answered: ETIMEDOUT, and the session closes with it', async () => {
      const server = await h.server((peer) => converse(peer, { answers: { NOOP: silence } }));
      const session = await h.connected(server, { timeout: TIMEOUT });
      const nooping = watch(session.noop());
      await server.received('NOOP');
      await expectDeadline(nooping, TIMEOUT);
      expect(nooping.error?.code).to.equal('ETIMEDOUT');
      expect(session.state.error?.code).to.equal('ETIMEDOUT');
      expect(server.lines).to.not.include('QUIT');
      await h.expectReleased();
    });
  });
});

/** Resolves once the client's end of data has reached the peer. */
function waitForData(peer: HostilePeer): Promise<void> {
  return peer.sent('\r\n.\r\n');
}
