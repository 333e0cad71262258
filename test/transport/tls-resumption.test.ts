// The module object itself (not an import namespace), so that sinon can watch createSecureContext.
import tls = require('node:tls');
import { expect } from 'chai';
import * as sinon from 'sinon';
import { lastValueFrom, toArray } from 'rxjs';
import { createPool } from '../../lib/pool';
import { type SmtpSession, createSession } from '../../lib/session';
import { TlsSessionCache } from '../../lib/transport/tls-sessions';
import { checkLeaks } from '../fixtures/handles';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { CA, cert } from '../fixtures/tls-scripted-server';
import { numbered } from '../send/helpers';

// TLS session resumption (issue 12): a session or pool that connects again to the same server
// resumes its TLS session, shown as state.tls.resumed; never across server names or TLS options.

describe('transport/TLS session resumption', () => {
  let server: SmtpServerFixture | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    session?.dispose();
    await server?.close();
    server = session = undefined;
  });
  checkLeaks();

  const start = async (secure = false): Promise<SmtpServerFixture> =>
    (server = await startSmtpServer({ key: cert('localhost.key'), cert: cert('localhost.pem'), secure, authOptional: true }));

  /** Connects (STARTTLS or implicit TLS as the server speaks), reads whether TLS resumed, and quits. */
  async function resumedOn(s: SmtpSession, port: number, host = 'localhost'): Promise<boolean | undefined> {
    const states = await lastValueFrom(s.connect({ host, port }).pipe(toArray()));
    const resumed = states[states.length - 1]!.tls?.resumed;
    await lastValueFrom(s.quit(), { defaultValue: undefined });
    return resumed;
  }

  it('STARTTLS: the first connection does a full handshake, the next on the same session resumes', async () => {
    const { port } = await start();
    session = createSession({ tlsOptions: { ca: CA } });
    expect(await resumedOn(session, port)).to.equal(false);
    expect(await resumedOn(session, port)).to.equal(true);
    expect(await resumedOn(session, port)).to.equal(true);
  });

  it('implicit TLS resumes the same way', async () => {
    const { port } = await start(true);
    session = createSession({ tls: 'implicit', tlsOptions: { ca: CA } });
    expect(await resumedOn(session, port)).to.equal(false);
    expect(await resumedOn(session, port)).to.equal(true);
  });

  it('never offers a session to another server name, though host and port are the same', async () => {
    const { port } = await start();
    const tlsSessions = new TlsSessionCache();
    session = createSession({ tlsOptions: { ca: CA }, tlsSessions });
    expect(await resumedOn(session, port, 'localhost')).to.equal(false);
    session.dispose();
    // Same address, the name the certificate also carries as an IP SAN: a different SNI, its own entry.
    session = createSession({ tlsOptions: { ca: CA }, tlsSessions });
    expect(await resumedOn(session, port, '127.0.0.1')).to.equal(false);
    expect(tlsSessions.size).to.equal(2);
  });

  it('never offers a session won under other TLS options', async () => {
    const { port } = await start();
    const tlsSessions = new TlsSessionCache();
    session = createSession({ tlsOptions: { ca: CA }, tlsSessions });
    expect(await resumedOn(session, port)).to.equal(false);
    session.dispose();
    session = createSession({ tlsOptions: { ca: CA, minVersion: 'TLSv1.3' }, tlsSessions });
    expect(await resumedOn(session, port)).to.equal(false);
    session.dispose();
    // The same options again, a new object with the same contents: resumes.
    session = createSession({ tlsOptions: { ca: Buffer.from(CA), minVersion: 'TLSv1.3' }, tlsSessions });
    expect(await resumedOn(session, port)).to.equal(true);
  });

  it('a session does not share its sessions with another unless given the same cache', async () => {
    const { port } = await start();
    session = createSession({ tlsOptions: { ca: CA } });
    expect(await resumedOn(session, port)).to.equal(false);
    session.dispose();
    session = createSession({ tlsOptions: { ca: CA } });
    expect(await resumedOn(session, port)).to.equal(false);
  });

  it("a pool's later connections resume the first one's session", async () => {
    const { port } = await start();
    const pool = createPool({ server: { host: 'localhost', port }, tlsOptions: { ca: CA }, maxConnections: 1, maxMessagesPerConnection: 1, idleTimeout: 50 });
    const resumed: boolean[] = [];
    pool.transcript$.subscribe(() => undefined);
    const outcomes = await lastValueFrom(pool.sendAll([numbered(0), numbered(1), numbered(2)]).pipe(toArray()));
    await lastValueFrom(pool.close(), { defaultValue: undefined });
    expect(outcomes.every((o) => o.ok)).to.equal(true);
    expect(server!.tlsSessions.map((s) => s.resumed)).to.deep.equal([false, true, true]);
    void resumed;
  });

  describe('the TLS context', () => {
    afterEach(() => sinon.restore());

    it('is made once per tlsOptions object: reconnects use it again, another object gets its own', async () => {
      const { port } = await start();
      const made = sinon.spy(tls, 'createSecureContext');
      const tlsOptions = { ca: CA };
      session = createSession({ tlsOptions });
      for (let i = 0; i < 3; i++) await resumedOn(session, port);
      expect(made.callCount).to.equal(1);
      expect(made.firstCall.args[0]).to.equal(tlsOptions);
      session.dispose();
      session = createSession({ tlsOptions });
      await resumedOn(session, port);
      expect(made.callCount, 'the same object, another session').to.equal(1);
      session.dispose();
      session = createSession({ tlsOptions: { ca: CA } });
      expect(await resumedOn(session, port), 'a new object: its own context, still verified').to.equal(false);
      expect(made.callCount).to.equal(2);
    });

    it("is shared by a pool's connections", async () => {
      const { port } = await start();
      const made = sinon.spy(tls, 'createSecureContext');
      const pool = createPool({ server: { host: 'localhost', port }, tlsOptions: { ca: CA }, maxConnections: 1, maxMessagesPerConnection: 1, idleTimeout: 50 });
      const outcomes = await lastValueFrom(pool.sendAll([numbered(0), numbered(1), numbered(2)]).pipe(toArray()));
      await lastValueFrom(pool.close(), { defaultValue: undefined });
      expect(outcomes.every((o) => o.ok)).to.equal(true);
      expect(server!.tlsSessions).to.have.length(3);
      expect(made.callCount).to.equal(1);
    });

    it("is the caller's own when tlsOptions bring a secureContext, and verification still applies", async () => {
      const { port } = await start();
      const made = sinon.spy(tls, 'createSecureContext');
      const secureContext = tls.createSecureContext({ ca: CA });
      made.resetHistory();
      session = createSession({ tlsOptions: { secureContext } });
      expect(await resumedOn(session, port)).to.equal(false);
      expect(made.callCount).to.equal(0);
      session.dispose();
      // A context that trusts nothing of this server's: the handshake fails as without the cache.
      session = createSession({ tlsOptions: { secureContext: tls.createSecureContext({}) } });
      const error = await lastValueFrom(session.connect({ host: 'localhost', port })).catch((e: unknown) => e);
      expect((error as { code?: string }).code).to.be.oneOf(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']);
    });
  });

  it('bounds the cache: the least recently used server goes first', () => {
    const cache = new TlsSessionCache(2);
    cache.set('a', Buffer.from('1'));
    cache.set('b', Buffer.from('2'));
    cache.get('a');
    cache.set('c', Buffer.from('3'));
    expect(cache.size).to.equal(2);
    expect(cache.get('b')).to.equal(undefined);
    expect(cache.get('a')?.toString()).to.equal('1');
  });
});
