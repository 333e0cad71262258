import { Readable } from 'node:stream';
import { expect } from 'chai';
import { filter, firstValueFrom } from 'rxjs';
import type { SmtpError } from '../../lib/errors';
import { SendAllError } from '../../lib/send/send-all-error';
import type { SmtpSession } from '../../lib/session';
import { turns } from '../fixtures/observe';
import { CA, tlsScriptedServer, type TlsScriptedServer } from '../fixtures/tls-scripted-server';
import { type Watched, harness, hostileSuite, watch } from './harness';
import { GREETING, converse, ehloReply, type HostilePeer } from './hostile-server';

// Guarantee 7: after a session ends, by any path (error, unsubscribe, dispose, server close), no
// socket, timer or listener remains. Timers are fake here, so `expectReleased` can count them.

const MAIL = { from: 'a@example.test', to: 'b@example.test', body: 'Subject: t\r\n\r\nhi\r\n' };
const silence = (_line: string, peer: HostilePeer): Promise<void> => peer.closed;

function closed(session: SmtpSession): Promise<unknown> {
  return firstValueFrom(session.state$.pipe(filter((s) => s.status === 'closed')));
}

/** A body that sends one chunk, then waits for ever (until the generator is closed). */
async function* stuck(): AsyncGenerator<Uint8Array> {
  yield Buffer.from('Subject: t\r\n\r\npart one\r\n');
  await new Promise(() => {});
}

/** A Node stream that gives one chunk, then nothing, ever: a body that never completes. */
function neverEnding(): Readable {
  let given = false;
  return new Readable({
    read() {
      if (!given) this.push(Buffer.from('Subject: t\r\n\r\npart one\r\n'));
      given = true;
    },
  });
}

/** A Node stream of whole 78-byte lines without end, 64 KB a chunk: it fills any socket buffer. */
function endless(): Readable {
  const chunk = Buffer.from(`${'x'.repeat(76)}\r\n`.repeat(840));
  return new Readable({
    read() {
      this.push(chunk);
    },
  });
}

/**
 * How a send() whose streamed body was read in part ends when the session does: the mail failed
 * (`EIO`: the body cannot be read again), the session's end (`code`) as the cause.
 */
function expectBodyLost(sending: Watched<unknown>, code: string): void {
  expect(sending.error?.code).to.equal('EIO');
  expect((sending.error?.cause as SmtpError | undefined)?.code).to.equal(code);
}

describe('hostile: nothing outlives a session', () => {
  hostileSuite();
  let tlsServer: TlsScriptedServer | undefined;
  afterEach(async () => {
    await tlsServer?.close();
    tlsServer = undefined;
  });
  const h = harness({ fakeTime: true });

  describe('unsubscribe', () => {
    it('from connect while the server is silent: closed, released', async () => {
      const server = await h.server((peer) => peer.closed);
      const session = h.session();
      const connecting = watch(session.connect({ host: '127.0.0.1', port: server.port }));
      await firstValueFrom(session.state$.pipe(filter((s) => s.status === 'greeting')));
      connecting.unsubscribe();
      expect(session.state.status).to.equal('closed');
      await server.peers[0]!.closed;
      await h.expectReleased();
    });

    it('from connect during a TLS handshake the server never answers: both sockets released', async () => {
      tlsServer = await tlsScriptedServer([
        { send: GREETING },
        { expect: /^EHLO /, send: ehloReply(['STARTTLS']) },
        { expect: 'STARTTLS', send: '220 go\r\n' },
        { stall: true },
      ]);
      const session = h.session({ tls: 'starttls', tlsOptions: { ca: CA } });
      const connecting = watch(session.connect({ host: 'localhost', port: tlsServer.port }));
      await tlsServer.until(() => tlsServer!.plain.includes(Buffer.from('STARTTLS\r\n\u0016')));
      connecting.unsubscribe();
      await tlsServer.clientClosed;
      await h.expectReleased();
    });

    it('from sendAll inside DATA, the body stuck: the connection is closed, released', async () => {
      const server = await h.server((peer) => converse(peer));
      const session = await h.connected(server);
      const sending = watch(session.sendAll([{ ...MAIL, body: stuck() }]));
      await server.received('DATA');
      await server.peers[0]!.sent('part one');
      sending.unsubscribe();
      expect(session.state.status).to.equal('closed');
      await server.peers[0]!.closed;
      await h.expectReleased();
    });

    it('from sendAll in a BDAT envelope: the connection stays, RSET once RCPT is answered; dispose then releases it', async () => {
      const server = await h.server((peer) => converse(peer, { capabilities: ['CHUNKING'], answers: { RCPT: silence } }));
      const session = await h.connected(server);
      const sending = watch(session.sendAll([MAIL]));
      await server.received(/^RCPT TO:/);
      sending.unsubscribe();
      // Without PIPELINING nothing is written before the RCPT reply; the mail is held back, the connection
      // kept, and with no call left the session is `connected` again (its RSET follows the RCPT reply).
      expect(session.state.status).to.equal('connected');
      session.dispose();
      await server.peers[0]!.closed;
      await h.expectReleased();
    });
  });

  describe('dispose', () => {
    it('while connected with keepAlive: the NOOP timer goes too', async () => {
      const server = await h.server((peer) => converse(peer));
      const session = await h.connected(server, { keepAlive: 30_000 });
      expect(h.clock.countTimers()).to.equal(1);
      session.dispose();
      await h.expectReleased();
    });

    it('during a connect: the connect errors, every stream completes, released', async () => {
      const server = await h.server((peer) => converse(peer, { answers: { EHLO: silence } }));
      const session = h.session();
      const done = { state: false, replies: false, transcript: false };
      session.state$.subscribe({ complete: () => (done.state = true) });
      session.replies$.subscribe({ complete: () => (done.replies = true) });
      session.transcript$.subscribe({ complete: () => (done.transcript = true) });
      const connecting = watch(session.connect({ host: '127.0.0.1', port: server.port }));
      await server.received(/^EHLO /);
      session.dispose();
      await connecting.ended;
      expect(connecting.error?.code).to.equal('EINVAL');
      expect(connecting.error?.message).to.equal('the session was disposed');
      expect(done).to.deep.equal({ state: true, replies: true, transcript: true });
      await h.expectReleased();
    });

    it('during a sendAll: it ends with a SendAllError that lists the mail, released', async () => {
      const server = await h.server((peer) => converse(peer, { answers: { '.': silence } }));
      const session = await h.connected(server);
      const sending = watch(session.sendAll([MAIL]));
      await server.peers[0]!.sent('\r\n.\r\n');
      session.dispose();
      await sending.ended;
      expect(sending.error).to.be.instanceOf(SendAllError);
      expect((sending.error as SendAllError).uncertain.map((r) => r.mail)).to.deep.equal([MAIL]);
      await h.expectReleased();
    });
  });

  // Issue 10, defect 7: send() hung for ever, whatever happened to the session, and kept the body.
  describe('a body that never completes, under DATA', () => {
    async function stuckInData(options = {}): Promise<{ session: SmtpSession; body: Readable; sending: Watched<unknown>; peer: HostilePeer }> {
      const server = await h.server((peer) => converse(peer));
      const session = await h.connected(server, options);
      const body = neverEnding();
      const sending = watch(session.send({ ...MAIL, body }));
      await server.peers[0]!.sent('part one');
      return { session, body, sending, peer: server.peers[0]! };
    }

    it('the server closes the connection: send() ends (EIO: the body was read in part; ESHUTDOWN its cause), the body is destroyed, released', async () => {
      const { body, sending, peer } = await stuckInData();
      peer.end();
      await sending.ended;
      expectBodyLost(sending, 'ESHUTDOWN');
      expect(body.destroyed).to.equal(true);
      await h.expectReleased();
    });

    it('dispose(): send() ends (EIO: the body was read in part; EINVAL its cause), the body is destroyed, released', async () => {
      const { session, body, sending } = await stuckInData();
      session.dispose();
      await sending.ended;
      expectBodyLost(sending, 'EINVAL');
      expect(body.destroyed).to.equal(true);
      await h.expectReleased();
    });

    it("the session's signal aborts: send() ends (EIO; ECANCELED its cause), the body is destroyed, released", async () => {
      const controller = new AbortController();
      const { body, sending } = await stuckInData({ signal: controller.signal });
      controller.abort();
      await sending.ended;
      expectBodyLost(sending, 'ECANCELED');
      expect(body.destroyed).to.equal(true);
      await h.expectReleased();
    });
  });

  // Issue 10, defect 8: the wait for the socket to drain outlived the connection: send() hung, the
  // body stayed open, and the drain's deadline timer ran until the timeout.
  describe('a streamed body while the server reads nothing (the socket congested)', () => {
    async function congested(): Promise<{ session: SmtpSession; body: Readable; sending: Watched<unknown>; peer: HostilePeer }> {
      const server = await h.server((peer) =>
        converse(peer, {
          answers: {
            DATA: async (_line, p) => {
              await p.send('354 go ahead\r\n');
              p.socket.pause();
            },
          },
        }),
      );
      const session = await h.connected(server);
      const body = endless();
      const sending = watch(session.send({ ...MAIL, body }));
      // Once the body is being read (the 354 is in, its deadline gone), the only timer is the deadline
      // of the wait for the socket to drain: it is there once the client waits.
      while (body.readableDidRead === false || h.clock.countTimers() === 0) await turns(1);
      return { session, body, sending, peer: server.peers[0]! };
    }

    it('dispose(): send() ends (EIO; EINVAL its cause), the body is destroyed, no timer is left, released', async () => {
      const { session, body, sending, peer } = await congested();
      session.dispose();
      await sending.ended;
      expectBodyLost(sending, 'EINVAL');
      expect(body.destroyed).to.equal(true);
      peer.socket.resume();
      await h.expectReleased();
    });

    it('unsubscribing: the body is destroyed, the connection closed, no timer is left, released', async () => {
      const { session, body, sending, peer } = await congested();
      sending.unsubscribe();
      expect(session.state.status).to.equal('closed');
      expect(body.destroyed).to.equal(true);
      peer.socket.resume();
      await h.expectReleased();
    });
  });

  describe('the server closes', () => {
    it('while the session is idle: closed with ESHUTDOWN, released without dispose', async () => {
      const server = await h.server((peer) => converse(peer, { answers: { NOOP: async (_l, p) => (await p.send('250 ok\r\n'), p.end()) } }));
      const session = await h.connected(server, { keepAlive: 30_000 });
      const ended = closed(session);
      await firstValueFrom(session.noop());
      await ended;
      expect(session.state.error?.code).to.equal('ESHUTDOWN');
      await h.expectReleased();
    });

    it('in the middle of a reply during sendAll: SendAllError, released without dispose', async () => {
      const server = await h.server((peer) => converse(peer, { answers: { RCPT: async (_l, p) => (await p.send('250-half'), p.destroy()) } }));
      const session = await h.connected(server);
      const sending = watch(session.sendAll([MAIL]));
      await sending.ended;
      expect(sending.error).to.be.instanceOf(SendAllError);
      expect(['ESHUTDOWN', 'ECONNRESET']).to.include(sending.error?.code);
      expect((sending.error as SendAllError).notSent.map((r) => r.mail)).to.deep.equal([MAIL]);
      await h.expectReleased();
    });
  });

  it('quit: released, and the session can connect again', async () => {
    const server = await h.server((peer) => converse(peer));
    const session = await h.connected(server);
    await watch(session.quit()).ended;
    await h.expectReleased();
    const again = watch(session.connect({ host: '127.0.0.1', port: server.port }));
    await again.ended;
    expect(again.error).to.equal(undefined);
    session.dispose();
    await h.expectReleased();
  });
});
