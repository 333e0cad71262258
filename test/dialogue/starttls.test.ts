import { expect } from 'chai';
import { type Observable, lastValueFrom, toArray } from 'rxjs';
import * as sinon from 'sinon';
import type { SessionState } from '../../lib/dialogue/transition';
import type { SessionOptions } from '../../lib/options';
import { type SmtpSession, createSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';
import { GREETING, ehloReply, type ScriptedServer } from '../fixtures/scripted-server';
import { PASSWORD, USER, defaultServer } from '../fixtures/default-server';
import { CA, cert, type TlsScriptedServer, type TlsStep, tlsScriptedServer } from '../fixtures/tls-scripted-server';
import { errorOf } from '../fixtures/observe';

const CLIENT = 'client.test';
const EHLO = `EHLO ${CLIENT}`;
/** RFC 8446 5.1: a TLS handshake record (the ClientHello) starts with this byte. */
const HANDSHAKE_RECORD = 0x16;
const TIMEOUT_MS = 10_000;

/** What the client wrote on the wire after its STARTTLS line (empty before STARTTLS). */
function afterStarttls(server: TlsScriptedServer): Buffer {
  const plain = server.plain;
  const end = plain.indexOf('STARTTLS\r\n');
  return end < 0 ? Buffer.alloc(0) : plain.subarray(end + 'STARTTLS\r\n'.length);
}

/** The greeting, an EHLO that offers STARTTLS, and STARTTLS answered with `reply`. */
function upTo220(reply: string, capabilities: string[] = ['STARTTLS']): TlsStep[] {
  return [{ send: GREETING }, { expect: EHLO, send: ehloReply(capabilities) }, { expect: 'STARTTLS', send: reply }];
}

describe('dialogue/starttls', () => {
  let server: TlsScriptedServer | ScriptedServer | undefined;
  let session: SmtpSession | undefined;
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    clock?.restore();
    session?.dispose();
    await server?.close();
    server = session = clock = undefined;
  });
  checkLeaks();

  function connect(port: number, options: SessionOptions = {}, credentials = false): Observable<SessionState> {
    session = createSession({ clientName: CLIENT, tlsOptions: { ca: CA }, timeout: TIMEOUT_MS, ...options });
    const address = { host: 'localhost', port };
    return credentials ? session.connect(address, USER, PASSWORD) : session.connect(address);
  }

  describe('response injection', () => {
    it('refuses bytes after the 220 in the same packet with ESERVERSYNC, before any ClientHello', async () => {
      const tlsServer = (server = await tlsScriptedServer([...upTo220('220 go\r\n250 injected\r\n'), { stall: true }]));
      const error = await errorOf(connect(tlsServer.port));
      expect(error.code).to.equal('ESERVERSYNC');
      await tlsServer.clientClosed;
      expect(afterStarttls(tlsServer)).to.have.lengthOf(0);
      expect(tlsServer.lines).to.deep.equal([EHLO, 'STARTTLS']);
    });

    it('refuses a 220 whose packet ends inside a second reply with ESERVERSYNC', async () => {
      const tlsServer = (server = await tlsScriptedServer([...upTo220('220 go\r\n25'), { stall: true }]));
      const error = await errorOf(connect(tlsServer.port));
      expect(error.code).to.equal('ESERVERSYNC');
      await tlsServer.clientClosed;
      expect(afterStarttls(tlsServer)).to.have.lengthOf(0);
    });

    it('refuses bytes written right after the 220 in a second write with ESERVERSYNC, never as a reply', async () => {
      const tlsServer = (server = await tlsScriptedServer([...upTo220('220 go\r\n'), { send: '250-injected\r\n' }, { stall: true }]));
      const replies: string[] = [];
      const connect$ = connect(tlsServer.port);
      session!.replies$.subscribe((r) => replies.push(r.lines.join(' ')));
      const error = await errorOf(connect$);
      expect(error.code).to.equal('ESERVERSYNC');
      await tlsServer.clientClosed;
      // Whether the two writes arrived as one read or two, no line follows STARTTLS in clear.
      const after = afterStarttls(tlsServer);
      if (after.length > 0) expect(after[0]).to.equal(HANDSHAKE_RECORD);
      expect(tlsServer.lines).to.deep.equal([EHLO, 'STARTTLS']);
      expect(replies.join('|')).to.contain('STARTTLS').and.not.contain('injected');
    });

    it('refuses text that arrives after the ClientHello went out with ESERVERSYNC, not a TLS error', async () => {
      const tlsServer = (server = await tlsScriptedServer([
        ...upTo220('220 go\r\n'),
        { clientHello: true, send: '250-injected\r\n' },
        { stall: true },
      ]));
      const error = await errorOf(connect(tlsServer.port));
      expect(error.code).to.equal('ESERVERSYNC');
      expect(error.message).to.contain('STARTTLS');
      await tlsServer.clientClosed;
      expect(afterStarttls(tlsServer)[0]).to.equal(HANDSHAKE_RECORD);
      expect(tlsServer.lines).to.deep.equal([EHLO, 'STARTTLS']);
    });
  });

  describe('refused STARTTLS', () => {
    it('fails a 454 with ESERVERTEMP and does not fall back to AUTH in clear text', async () => {
      const plain = (server = await defaultServer({ STARTTLS: '454 4.7.0 TLS not available' }, { capabilities: ['STARTTLS', 'AUTH PLAIN'] }));
      const error = await errorOf(connect(plain.port, {}, true));
      expect(error.code).to.equal('ESERVERTEMP');
      expect(error.reply?.code).to.equal(454);
      expect(error.command).to.equal('STARTTLS');
      await plain.clientClosed;
      expect(plain.lines).to.deep.equal([EHLO, 'STARTTLS', 'QUIT']);
    });

    it('fails a 5xx with ESERVERPERM and sends nothing but QUIT after it', async () => {
      const plain = (server = await defaultServer({ STARTTLS: '554 5.7.3 No TLS for you' }, { capabilities: ['STARTTLS', 'AUTH PLAIN'] }));
      const error = await errorOf(connect(plain.port, {}, true));
      expect(error.code).to.equal('ESERVERPERM');
      await plain.clientClosed;
      expect(plain.lines).to.deep.equal([EHLO, 'STARTTLS', 'QUIT']);
    });

    it('closes after a certificate it cannot verify and sends nothing more, neither in clear nor in TLS', async () => {
      const tlsServer = (server = await tlsScriptedServer([...upTo220('220 go\r\n'), { startTls: true }, { expect: /^EHLO /, send: ehloReply([]) }], {
        key: cert('self-signed.key'),
        cert: cert('self-signed.pem'),
      }));
      const error = await errorOf(connect(tlsServer.port, { tlsOptions: {} }, true));
      expect(error.code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
      await tlsServer.clientClosed;
      expect(tlsServer.lines).to.deep.equal([EHLO, 'STARTTLS']);
      expect(afterStarttls(tlsServer).toString('latin1')).to.not.match(/QUIT|EHLO|AUTH/);
    });
  });

  describe('after the handshake', () => {
    /** STARTTLS offered with AUTH PLAIN; inside TLS, the second EHLO offers only AUTH LOGIN. */
    const upgraded = (secondEhlo: TlsStep[]): TlsStep[] => [
      ...upTo220('220 2.0.0 Ready to start TLS\r\n', ['STARTTLS', 'AUTH PLAIN', 'SIZE 1000']),
      { startTls: true },
      ...secondEhlo,
      { expect: 'AUTH LOGIN', send: '334 VXNlcm5hbWU6\r\n' },
      { expect: Buffer.from(USER).toString('base64'), send: '334 UGFzc3dvcmQ6\r\n' },
      { expect: Buffer.from(PASSWORD).toString('base64'), send: '235 2.7.0 Ok\r\n' },
    ];

    it('forgets the capabilities learned before TLS: AUTH LOGIN of the second EHLO is used', async () => {
      const tlsServer = (server = await tlsScriptedServer(upgraded([{ expect: EHLO, send: ehloReply(['AUTH LOGIN']) }])));
      const state = await lastValueFrom(connect(tlsServer.port, {}, true));
      expect(state).to.deep.include({ status: 'connected', secure: true, mechanism: 'LOGIN' });
      expect(session!.capabilities).to.deep.equal(new Map([['AUTH', 'LOGIN']]));
      expect(tlsServer.failures).to.deep.equal([]);
    });

    it('reads replies split at awkward points across TLS records', async () => {
      const split: TlsStep[] = [
        { expect: EHLO, send: '250-te' },
        { send: 'st\r\n250 AU' },
        { send: 'TH LOGIN\r' },
        { send: '\n' },
      ];
      const tlsServer = (server = await tlsScriptedServer(upgraded(split)));
      const state = await lastValueFrom(connect(tlsServer.port, {}, true));
      expect(state).to.deep.include({ status: 'connected', mechanism: 'LOGIN' });
      expect(tlsServer.lines).to.deep.equal([EHLO, 'STARTTLS', EHLO, 'AUTH LOGIN', 'YWxpY2U=', 'czNjcmV0']);
    });

    it('shows starttls, then the second ehlo as secure, in state$', async () => {
      const tlsServer = (server = await tlsScriptedServer([...upTo220('220 go\r\n'), { startTls: true }, { expect: EHLO, send: ehloReply([]) }]));
      const states = await lastValueFrom(connect(tlsServer.port).pipe(toArray()));
      const steps = states.map((s) => `${s.status}${s.secure ? '+tls' : ''}`);
      expect(steps).to.deep.equal(['connecting', 'greeting', 'ehlo', 'starttls', 'ehlo+tls', 'connected+tls']);
      expect(tlsServer.servername).to.equal('localhost');
    });
  });

  describe('handshake timeout', () => {
    it('ends a handshake the server never answers with ETIMEDOUT', async () => {
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
      const tlsServer = (server = await tlsScriptedServer([...upTo220('220 go\r\n'), { stall: true }]));
      const failed = errorOf(connect(tlsServer.port, {}, true));
      await tlsServer.until(() => afterStarttls(tlsServer).length > 0);
      clock.tick(TIMEOUT_MS - 1);
      expect(session!.state.status).to.equal('starttls');
      clock.tick(1);
      const error = await failed;
      expect(error.code).to.equal('ETIMEDOUT');
      expect(error.message).to.contain('TLS handshake');
      expect(tlsServer.lines).to.deep.equal([EHLO, 'STARTTLS']);
    });
  });
});
