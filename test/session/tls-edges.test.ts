import * as net from 'node:net';
import * as tls from 'node:tls';
import { expect } from 'chai';
import { type Observable, lastValueFrom } from 'rxjs';
import type { SMTPServerOptions } from 'smtp-server';
import { parseServerAddress } from '../../lib/address';
import type { SessionOptions } from '../../lib/options';
import { type SmtpSession, createSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';
import { PASSWORD, USER, type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { CA, cert } from '../fixtures/tls-scripted-server';
import { errorOf, turns } from '../fixtures/observe';

// Issue 3 cases the other TLS tests leave out: a 220 to STARTTLS that arrives in pieces (must work),
// a server that speaks TLS 1.2 only, and a server that requires a client certificate.

/**
 * A STARTTLS server that writes its 220 in the given pieces, each flushed and followed by turns of
 * the event loop so that the client reads it on its own, then upgrades and answers in TLS.
 */
async function piecewiseServer(pieces: string[]): Promise<{ port: number; lines: string[]; close(): Promise<void> }> {
  const lines: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    const send = (s: net.Socket, bytes: string): Promise<void> => new Promise((resolve) => s.write(bytes, () => resolve()));
    let buffer = '';
    const onLine = async (line: string): Promise<void> => {
      lines.push(line);
      if (line.startsWith('EHLO')) await send(socket, '250-test\r\n250 STARTTLS\r\n');
      else if (line === 'STARTTLS') {
        socket.removeAllListeners('data');
        for (const [i, piece] of pieces.entries()) {
          if (i > 0) await turns(3);
          await send(socket, piece);
        }
        // At once after the last piece: the ClientHello must find the TLS socket listening.
        const secure = new tls.TLSSocket(socket, { isServer: true, key: cert('localhost.key'), cert: cert('localhost.pem') });
        secure.on('error', () => {});
        let inner = '';
        secure.on('data', (chunk: Buffer) => {
          inner += chunk.toString('latin1');
          for (let at = inner.indexOf('\r\n'); at >= 0; at = inner.indexOf('\r\n')) {
            const l = inner.slice(0, at);
            inner = inner.slice(at + 2);
            lines.push(l);
            if (l.startsWith('EHLO')) secure.write('250-test\r\n250 AUTH PLAIN\r\n');
            else if (l.startsWith('AUTH PLAIN')) secure.write('235 2.7.0 ok\r\n');
            else if (l === 'QUIT') secure.end('221 bye\r\n');
          }
        });
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let at = buffer.indexOf('\r\n'); at >= 0; at = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        void onLine(line);
      }
    });
    socket.write('220 test ESMTP\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    lines,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('session TLS edges (issue 3)', () => {
  let session: SmtpSession | undefined;
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    session?.dispose();
    await close?.();
    session = close = undefined;
  });
  checkLeaks();

  describe("the default mode is 'implicit' for smtps:// and port 465, 'starttls' otherwise", () => {
    for (const [address, port, implicitTls] of [
      ['smtps://mail.example.test', 465, true],
      ['smtps://mail.example.test:2465', 2465, true],
      ['smtp://mail.example.test:465', 465, true],
      ['mail.example.test:465', 465, true],
      [{ host: 'mail.example.test', port: 465 }, 465, true],
      ['smtp://mail.example.test:587', 587, false],
      ['mail.example.test', 25, false],
      [{ host: 'mail.example.test', port: 587 }, 587, false],
    ] as const) {
      it(`${JSON.stringify(address)}: port ${port}, implicit TLS ${implicitTls}`, () => {
        expect(parseServerAddress(address)).to.include({ port, implicitTls });
      });
    }
  });

  describe('a 220 to STARTTLS split across TCP packets', () => {
    for (const [name, pieces] of [
      ['inside the line', ['220 2.0.0 Rea', 'dy to start TLS\r\n']],
      ['between the lines of a multi-line 220', ['220-2.0.0 Ready\r\n', '220 2.0.0 go ahead\r\n']],
      ['one byte per packet', [...'220 go\r\n']],
    ] as const) {
      it(`still upgrades when split ${name}, then authenticates inside TLS`, async () => {
        const server = await piecewiseServer([...pieces]);
        close = server.close;
        session = createSession({ clientName: 'client.test', tlsOptions: { ca: CA } });
        await lastValueFrom(session.connect({ host: 'localhost', port: server.port }, USER, PASSWORD));
        expect(session.state.status).to.equal('connected');
        expect(session.state.secure).to.equal(true);
        expect(server.lines.map((l) => l.split(' ')[0])).to.deep.equal(['EHLO', 'STARTTLS', 'EHLO', 'AUTH']);
        await lastValueFrom(session.quit());
      });
    }
  });

  describe('against smtp-server', () => {
    let server: SmtpServerFixture | undefined;
    let auths: number;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    async function start(options: SMTPServerOptions): Promise<number> {
      auths = 0;
      server = await startSmtpServer({
        key: cert('localhost.key'),
        cert: cert('localhost.pem'),
        allowInsecureAuth: false,
        onAuth(auth, _s, callback) {
          auths++;
          if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: USER });
          else callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
        },
        ...options,
      });
      return server.port;
    }

    function connect(port: number, options: SessionOptions): Observable<unknown> {
      session = createSession({ clientName: 'client.test', ...options });
      return session.connect({ host: 'localhost', port }, USER, PASSWORD);
    }

    describe('a TLS 1.2 only server', () => {
      it('is reached over STARTTLS with the defaults, and state.tls shows TLSv1.2', async () => {
        const port = await start({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as SMTPServerOptions);
        await lastValueFrom(connect(port, { tlsOptions: { ca: CA } }));
        expect(session!.state.tls?.protocol).to.equal('TLSv1.2');
        expect(auths).to.equal(1);
      });

      it('is refused by tlsOptions.minVersion TLSv1.3 with a TLS error code, and no AUTH is sent', async () => {
        const port = await start({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as SMTPServerOptions);
        const error = await errorOf(connect(port, { tlsOptions: { ca: CA, minVersion: 'TLSv1.3' } }));
        expect(error.code).to.match(/^ERR_SSL_/);
        expect(auths).to.equal(0);
        expect(session!.state.status).to.equal('closed');
      });

      it('is reached over implicit TLS with tlsOptions.maxVersion TLSv1.2', async () => {
        const port = await start({ secure: true });
        await lastValueFrom(connect(port, { tls: 'implicit', tlsOptions: { ca: CA, maxVersion: 'TLSv1.2' } }));
        expect(session!.state.tls?.protocol).to.equal('TLSv1.2');
      });
    });

    describe('a server that requires a client certificate', () => {
      const requireClientCert = { requestCert: true, rejectUnauthorized: true, ca: CA } as SMTPServerOptions;

      it('accepts the certificate and key given in tlsOptions, over STARTTLS', async () => {
        const port = await start(requireClientCert);
        await lastValueFrom(connect(port, { tlsOptions: { ca: CA, cert: cert('client.pem'), key: cert('client.key') } }));
        expect(session!.state.status).to.equal('connected');
        expect(session!.state.secure).to.equal(true);
        expect(auths).to.equal(1);
      });

      it('accepts them over implicit TLS', async () => {
        const port = await start({ ...requireClientCert, secure: true });
        await lastValueFrom(connect(port, { tls: 'implicit', tlsOptions: { ca: CA, cert: cert('client.pem'), key: cert('client.key') } }));
        expect(session!.state.status).to.equal('connected');
        expect(auths).to.equal(1);
      });

      it('without one, the connect fails and no credentials are sent', async () => {
        const port = await start({ ...requireClientCert, secure: true });
        const error = await errorOf(connect(port, { tls: 'implicit', tlsOptions: { ca: CA } }));
        expect(error.code).to.be.a('string').and.not.equal('');
        expect(auths).to.equal(0);
        expect(session!.state.status).to.equal('closed');
      });
    });
  });
});
