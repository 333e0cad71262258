import { once } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { expect } from 'chai';
import * as sinon from 'sinon';
import { SmtpError } from '../../lib/errors';
import { resolveReplyLimits } from '../../lib/reply/reply-parser';
import { Connection } from '../../lib/transport/connection';
import { type SmtpSocket, openSocket, secureDefaults } from '../../lib/transport/socket';
import { closedPort, drain, errorOf, fakeTime } from '../fixtures/connection';
import { checkLeaks } from '../fixtures/handles';
import { type ScriptedServer, scriptedServer } from '../fixtures/scripted-server';

const TIMEOUT_MS = 5_000;

/**
 * Whether Nagle's algorithm is off. Node keeps no public getter; `setNoDelay()` and the `noDelay`
 * connect option both record the setting under this symbol before handing it to the handle.
 */
function noDelayOf(socket: SmtpSocket): unknown {
  const symbol = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'kSetNoDelay');
  return symbol === undefined ? undefined : (socket as unknown as Record<symbol, unknown>)[symbol];
}

describe('transport/socket', () => {
  let server: ScriptedServer | undefined;
  let raw: net.Server | undefined;
  let socket: SmtpSocket | undefined;
  let conn: Connection | undefined;
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    conn?.destroy();
    socket?.destroy();
    clock?.restore();
    await server?.close();
    await new Promise<void>((resolve) => (raw === undefined ? resolve() : raw.close(() => resolve())));
    server = raw = socket = conn = clock = undefined;
  });
  checkLeaks();

  const over = (s: SmtpSocket, readyEvent: 'connect' | 'secureConnect'): Connection =>
    (conn = new Connection(s, readyEvent, { timeout: TIMEOUT_MS, limits: resolveReplyLimits() }));

  describe('openSocket', () => {
    it('opens plain TCP to the target with Nagle off, ready on connect', async () => {
      server = await scriptedServer([{ stall: true }]);
      const opened = openSocket({ host: '127.0.0.1', port: server.port, implicitTls: false }, undefined);
      socket = opened.socket;
      expect(opened.readyEvent).to.equal('connect');
      expect(socket).to.not.be.instanceOf(tls.TLSSocket);
      expect(noDelayOf(socket)).to.equal(true);
      await once(socket, 'connect');
      expect(socket.remotePort).to.equal(server.port);
    });

    it('opens TLS for implicit TLS, with Nagle off, ready on secureConnect', async () => {
      server = await scriptedServer([{ stall: true }]);
      const opened = openSocket({ host: '127.0.0.1', port: server.port, implicitTls: true }, { rejectUnauthorized: true });
      socket = opened.socket;
      socket.on('error', () => {}); // destroyed before any handshake
      expect(opened.readyEvent).to.equal('secureConnect');
      expect(socket).to.be.instanceOf(tls.TLSSocket);
      expect(noDelayOf(socket)).to.equal(true);
    });

    it('passes a refused connection through with its own code, ECONNREFUSED, as an SmtpError', async () => {
      const { socket: s, readyEvent } = openSocket({ host: '127.0.0.1', port: await closedPort(), implicitTls: false }, undefined);
      const c = over(s, readyEvent);
      const error = await errorOf(c.ready$);
      expect(error.code).to.equal('ECONNREFUSED');
      expect((error.cause as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
      expect(c.closedError()).to.equal(error);
      expect(c.isClosed).to.equal(true);
    });

    it('passes a reset during the dialogue through as ECONNRESET, failing the waiting read', async () => {
      raw = net.createServer((peer) => peer.resetAndDestroy());
      await new Promise<void>((resolve) => raw!.listen(0, '127.0.0.1', resolve));
      const { socket: s, readyEvent } = openSocket({ host: '127.0.0.1', port: (raw.address() as net.AddressInfo).port, implicitTls: false }, undefined);
      const c = over(s, readyEvent);
      const error = await errorOf(c.read());
      expect(error.code).to.equal('ECONNRESET');
      expect(error).to.be.instanceOf(SmtpError);
    });
  });

  describe('connect timeout', () => {
    it('fails a TCP connect that never completes with ETIMEDOUT at the timeout, and the greeting with it', async () => {
      clock = fakeTime();
      const s = (socket = new net.Socket()); // never connects: what a black-holed SYN looks like from here
      const c = over(s, 'connect');
      let settled = false;
      const ready = errorOf(c.ready$).finally(() => (settled = true));
      const greeting = errorOf(c.read());
      await clock.tickAsync(TIMEOUT_MS - 1);
      expect(settled).to.equal(false);
      await clock.tickAsync(1);
      const error = await ready;
      expect(error.code).to.equal('ETIMEDOUT');
      expect(error.message).to.equal(`TCP connect did not complete within ${TIMEOUT_MS} ms`);
      expect(await greeting).to.equal(error);
      expect(s.destroyed).to.equal(true);
      expect(clock.countTimers()).to.equal(0);
    });

    it('fails an implicit-TLS handshake the server never answers with ETIMEDOUT', async () => {
      server = await scriptedServer([{ stall: true }]);
      clock = fakeTime();
      const { socket: s, readyEvent } = openSocket({ host: '127.0.0.1', port: server.port, implicitTls: true }, { rejectUnauthorized: true });
      const c = over(s, readyEvent);
      const ready = errorOf(c.ready$);
      await once(s, 'connect'); // TCP is up; the ClientHello is out and never answered
      await clock.tickAsync(TIMEOUT_MS);
      const error = await ready;
      expect(error.code).to.equal('ETIMEDOUT');
      expect(error.message).to.equal(`TLS handshake did not complete within ${TIMEOUT_MS} ms`);
    });

    it('stops the connect timer once connected: only the reply timer runs after', async () => {
      server = await scriptedServer([{ stall: true }]);
      clock = fakeTime();
      const { socket: s, readyEvent } = openSocket({ host: '127.0.0.1', port: server.port, implicitTls: false }, undefined);
      const c = over(s, readyEvent);
      expect(clock.countTimers()).to.equal(1);
      await drain(c.ready$);
      expect(clock.countTimers()).to.equal(0);
      await clock.tickAsync(2 * TIMEOUT_MS);
      expect(c.isClosed).to.equal(false);
    });
  });

  describe('secureDefaults', () => {
    it('verifies certificates and sends the host name as SNI', () => {
      expect(secureDefaults('mail.example.com')).to.deep.equal({ rejectUnauthorized: true, servername: 'mail.example.com' });
    });

    it('sends no SNI for an IP address (RFC 6066 3), v4 or v6', () => {
      expect(secureDefaults('192.0.2.1')).to.deep.equal({ rejectUnauthorized: true });
      expect(secureDefaults('::1')).to.deep.equal({ rejectUnauthorized: true });
    });
  });
});
