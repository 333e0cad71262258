import { expect } from 'chai';
import { type Observable, lastValueFrom } from 'rxjs';
import * as sinon from 'sinon';
import type { ServerAddress } from '../../lib/address';
import type { SessionState } from '../../lib/dialogue/transition';
import type { SessionOptions } from '../../lib/options';
import { type SmtpSession, createSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';
import { GREETING, ehloReply, type ScriptedServer } from '../fixtures/scripted-server';
import { PASSWORD, USER, defaultServer } from '../fixtures/default-server';
import { CA, type TlsScriptedServer, tlsScriptedServer } from '../fixtures/tls-scripted-server';
import { errorOf } from '../fixtures/observe';

const CLIENT = 'client.test';
const EHLO = `EHLO ${CLIENT}`;
const TIMEOUT_MS = 10_000;

describe('session TLS modes and the insecure-auth rule', () => {
  let server: ScriptedServer | TlsScriptedServer | undefined;
  let session: SmtpSession | undefined;
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    clock?.restore();
    session?.dispose();
    await server?.close();
    server = session = clock = undefined;
  });
  checkLeaks();

  function connect(address: ServerAddress, options: SessionOptions = {}, credentials = false): Observable<SessionState> {
    session = createSession({ clientName: CLIENT, tlsOptions: { ca: CA }, timeout: TIMEOUT_MS, ...options });
    return credentials ? session.connect(address, USER, PASSWORD) : session.connect(address);
  }

  /** A plain fake server; STARTTLS, if sent, is answered 454 and fails the connect. */
  async function plainServer(capabilities: string[]): Promise<ScriptedServer> {
    const plain = await defaultServer({}, { capabilities });
    server = plain;
    return plain;
  }

  describe("'starttls-required'", () => {
    it('fails with ENOTSUP when STARTTLS is not offered, having sent nothing but EHLO and QUIT', async () => {
      const plain = await plainServer(['AUTH PLAIN']);
      const error = await errorOf(connect({ host: '127.0.0.1', port: plain.port }, { tls: 'starttls-required' }, true));
      expect(error.code).to.equal('ENOTSUP');
      expect(error.message).to.contain('starttls-required');
      await plain.clientClosed;
      expect(plain.lines).to.deep.equal([EHLO, 'QUIT']);
    });

    it('upgrades when STARTTLS is offered', async () => {
      const tlsServer = (server = await tlsScriptedServer([
        { send: GREETING },
        { expect: EHLO, send: ehloReply(['STARTTLS']) },
        { expect: 'STARTTLS', send: '220 go\r\n' },
        { startTls: true },
        { expect: EHLO, send: ehloReply([]) },
      ]));
      const state = await lastValueFrom(connect({ host: 'localhost', port: tlsServer.port }, { tls: 'starttls-required' }));
      expect(state).to.deep.include({ status: 'connected', secure: true });
    });
  });

  describe("'starttls' (the default)", () => {
    it('goes on in clear text when STARTTLS is not offered and no credentials were given', async () => {
      const plain = await plainServer(['PIPELINING']);
      const state = await lastValueFrom(connect({ host: '127.0.0.1', port: plain.port }));
      expect(state).to.deep.include({ status: 'connected', secure: false });
      expect(state.tls).to.equal(undefined);
    });

    it('refuses credentials without TLS with ENOTSUP naming allowInsecureAuth, and sends no AUTH', async () => {
      const plain = await plainServer(['AUTH PLAIN LOGIN']);
      const error = await errorOf(connect({ host: '127.0.0.1', port: plain.port }, {}, true));
      expect(error.code).to.equal('ENOTSUP');
      expect(error.message).to.contain('allowInsecureAuth');
      await plain.clientClosed;
      expect(plain.lines).to.deep.equal([EHLO, 'QUIT']);
    });

    it('authenticates in clear text with allowInsecureAuth: true', async () => {
      const plain = await plainServer(['AUTH PLAIN']);
      const state = await lastValueFrom(connect({ host: '127.0.0.1', port: plain.port }, { allowInsecureAuth: true }, true));
      expect(state).to.deep.include({ status: 'connected', secure: false, mechanism: 'PLAIN' });
      expect(plain.lines[1]).to.match(/^AUTH PLAIN /);
    });
  });

  describe("'none'", () => {
    it('never sends STARTTLS, even when offered', async () => {
      const plain = await plainServer(['STARTTLS', 'PIPELINING']);
      const state = await lastValueFrom(connect({ host: '127.0.0.1', port: plain.port }, { tls: 'none' }));
      expect(state).to.deep.include({ status: 'connected', secure: false });
      expect(plain.lines).to.deep.equal([EHLO]);
    });

    it('still refuses credentials in clear text with ENOTSUP', async () => {
      const plain = await plainServer(['STARTTLS', 'AUTH PLAIN']);
      const error = await errorOf(connect({ host: '127.0.0.1', port: plain.port }, { tls: 'none' }, true));
      expect(error.code).to.equal('ENOTSUP');
      await plain.clientClosed;
      expect(plain.lines).to.deep.equal([EHLO, 'QUIT']);
    });

    it('wins over an smtps:// URL', async () => {
      const plain = await plainServer([]);
      const state = await lastValueFrom(connect(`smtps://127.0.0.1:${plain.port}`, { tls: 'none' }));
      expect(state).to.deep.include({ status: 'connected', secure: false });
    });
  });

  describe("'implicit'", () => {
    it('does not send STARTTLS inside TLS even when offered', async () => {
      const tlsServer = (server = await tlsScriptedServer([
        { startTls: true },
        { send: GREETING },
        { expect: EHLO, send: ehloReply(['STARTTLS', 'AUTH PLAIN']) },
        { expect: /^AUTH PLAIN /, send: '235 2.7.0 Ok\r\n' },
      ]));
      const state = await lastValueFrom(connect({ host: 'localhost', port: tlsServer.port }, { tls: 'implicit' }, true));
      expect(state).to.deep.include({ status: 'connected', secure: true, mechanism: 'PLAIN' });
      expect(tlsServer.lines.map((line) => line.split(' ')[0])).to.deep.equal(['EHLO', 'AUTH']);
      expect(tlsServer.failures).to.deep.equal([]);
    });

    it('ends with ETIMEDOUT when the server never completes the handshake', async () => {
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
      const tlsServer = (server = await tlsScriptedServer([{ stall: true }]));
      const failed = errorOf(connect({ host: 'localhost', port: tlsServer.port }, { tls: 'implicit' }));
      await tlsServer.until(() => tlsServer.plain.length > 0); // the ClientHello
      clock.tick(TIMEOUT_MS - 1);
      expect(session!.state).to.deep.include({ status: 'connecting', secure: false });
      clock.tick(1);
      const error = await failed;
      expect(error.code).to.equal('ETIMEDOUT');
      expect(error.message).to.contain('TLS handshake');
      expect(tlsServer.plain[0]).to.equal(0x16); // a TLS handshake record, nothing in clear
    });
  });
});
