import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import type { SMTPServerOptions } from 'smtp-server';
import type { SessionOptions } from '../../lib/options';
import { type SmtpSession, createSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';
import { PASSWORD, USER, type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { CA, cert } from '../fixtures/tls-scripted-server';
import { errorOf } from '../fixtures/observe';

/** What smtp-server saw of each TLS session: the SNI name and whether AUTH was tried. */
interface Seen {
  servernames: unknown[];
  auths: number;
}

describe('transport/tls against smtp-server', () => {
  let server: SmtpServerFixture | undefined;
  let session: SmtpSession | undefined;
  let seen: Seen;
  afterEach(async () => {
    session?.dispose();
    await server?.close();
    server = session = undefined;
  });
  checkLeaks();

  /** smtp-server with a test certificate (`certs/NAME.pem`), AUTH only under TLS. */
  async function start(name: string, options: SMTPServerOptions = {}): Promise<SmtpServerFixture> {
    seen = { servernames: [], auths: 0 };
    server = await startSmtpServer({
      key: cert(`${name}.key`),
      cert: cert(`${name}.pem`),
      allowInsecureAuth: false,
      onSecure(_socket, tlsSession, callback) {
        seen.servernames.push(tlsSession.servername);
        callback();
      },
      onAuth(auth, _s, callback) {
        seen.auths++;
        if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: USER });
        else callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
      },
      ...options,
    });
    return server;
  }

  function connect(options: SessionOptions, address: string | { host: string; port: number }, withAuth = true) {
    session = createSession(options);
    return withAuth ? session.connect(address, USER, PASSWORD) : session.connect(address);
  }

  describe('implicit TLS', () => {
    it('is the mode of an smtps:// URL: TLS from the first byte, then AUTH', async () => {
      const { port } = await start('localhost', { secure: true });
      const states = await lastValueFrom(connect({ tlsOptions: { ca: CA } }, `smtps://localhost:${port}`).pipe(toArray()));
      expect(states.map((s) => s.status)).to.deep.equal(['connecting', 'greeting', 'ehlo', 'authenticating', 'connected']);
      expect(states.map((s) => s.secure)).to.deep.equal([false, true, true, true, true]);
      expect(states.at(-1)!.tls).to.include({ authorized: true });
      expect(seen.auths).to.equal(1);
    });

    it("is chosen by tls: 'implicit' for any port, and AUTH follows", async () => {
      const { port } = await start('localhost', { secure: true });
      const state = await lastValueFrom(connect({ tls: 'implicit', tlsOptions: { ca: CA } }, { host: 'localhost', port }));
      expect(state).to.deep.include({ status: 'connected', secure: true, mechanism: 'PLAIN' });
      expect(state.tls!.protocol).to.match(/^TLSv1\.[23]$/);
      expect(seen.auths).to.equal(1);
    });

  });

  describe('certificate verification', () => {
    it('refuses a self-signed certificate without ca, with the TLS code, over STARTTLS', async () => {
      const { port } = await start('self-signed');
      const error = await errorOf(connect({}, { host: 'localhost', port }));
      expect(error.code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
      expect(session!.state).to.deep.include({ status: 'closed', secure: false });
      expect(session!.state.error).to.equal(error);
      expect(seen.auths).to.equal(0);
    });

    it('refuses a self-signed certificate without ca, with the TLS code, over implicit TLS', async () => {
      const { port } = await start('self-signed', { secure: true });
      const error = await errorOf(connect({}, `smtps://localhost:${port}`));
      expect(error.code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
      expect(seen.auths).to.equal(0);
    });

    it('refuses a certificate for another host name with ERR_TLS_CERT_ALTNAME_INVALID', async () => {
      const { port } = await start('wrong-host');
      const error = await errorOf(connect({ tlsOptions: { ca: CA } }, { host: 'localhost', port }));
      expect(error.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
      expect(error.message).to.contain('wrong.example');
      expect(seen.auths).to.equal(0);
    });

    it('passes tlsOptions through: a servername that the certificate names is accepted', async () => {
      const { port } = await start('wrong-host');
      const state = await lastValueFrom(connect({ tlsOptions: { ca: CA, servername: 'wrong.example' } }, { host: 'localhost', port }));
      expect(state).to.deep.include({ status: 'connected', secure: true });
      expect(seen.servernames).to.deep.equal(['wrong.example']);
    });

    it('passes tlsOptions through: rejectUnauthorized false connects and reports authorized: false', async () => {
      const { port } = await start('self-signed');
      const state = await lastValueFrom(connect({ tlsOptions: { rejectUnauthorized: false } }, { host: 'localhost', port }));
      expect(state).to.deep.include({ status: 'connected', secure: true });
      expect(state.tls).to.include({ authorized: false });
    });

    it('verifies an IP address against the certificate (IP SAN 127.0.0.1)', async () => {
      const { port } = await start('localhost');
      const state = await lastValueFrom(connect({ tlsOptions: { ca: CA } }, { host: '127.0.0.1', port }));
      expect(state.tls).to.include({ authorized: true });
    });
  });

  describe('SNI', () => {
    it('sends the host name as SNI', async () => {
      const { port } = await start('localhost');
      await lastValueFrom(connect({ tlsOptions: { ca: CA } }, { host: 'localhost', port }, false));
      expect(seen.servernames).to.deep.equal(['localhost']);
    });

    it('sends no SNI for an IP address (RFC 6066 3)', async () => {
      const { port } = await start('localhost', { secure: true });
      await lastValueFrom(connect({ tls: 'implicit', tlsOptions: { ca: CA } }, { host: '127.0.0.1', port }, false));
      expect(seen.servernames).to.have.lengthOf(1);
      expect(seen.servernames[0]).to.not.be.a('string');
    });
  });
});
