import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import { type MiniSink, startMiniSink } from '../../bench/sinks/mini-sink';
import { type SmtpSession, createSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';

const CERTS = path.join(__dirname, '..', 'fixtures', 'certs');
const ca = readFileSync(path.join(CERTS, 'ca.pem'));
const starttls = { key: readFileSync(path.join(CERTS, 'localhost.key')), cert: readFileSync(path.join(CERTS, 'localhost.pem')) };

/** Reads plain-text lines until one starts with `code` and a space (a reply's last line). */
function replyTo(socket: net.Socket, code: string): Promise<string> {
  let text = '';
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (text.split('\r\n').some((line) => line.startsWith(`${code} `))) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
  });
}

/**
 * STARTTLS by hand (with `afterStarttls` written in the same write as the command), then QUIT over
 * TLS: whether the handshake resumed, the session ticket the server gave, and all it said over TLS.
 */
async function tlsVisit(port: number, session?: Buffer, afterStarttls = ''): Promise<{ reused: boolean; session: Buffer | undefined; overTls: string }> {
  const plain = net.connect({ port, host: '127.0.0.1' });
  await replyTo(plain, '220');
  const ready = replyTo(plain, '220');
  plain.write(`STARTTLS\r\n${afterStarttls}`);
  await ready;
  const secure = tls.connect({ socket: plain, ca, servername: 'localhost', session });
  let ticket: Buffer | undefined;
  secure.on('session', (value: Buffer) => (ticket = value));
  await new Promise((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  const reused = secure.isSessionReused();
  const bye = replyTo(secure as net.Socket, '221');
  secure.write('QUIT\r\n');
  const overTls = await bye;
  await new Promise((resolve) => secure.once('close', resolve));
  return { reused, session: ticket, overTls };
}

describe('bench/sinks/mini-sink with STARTTLS', () => {
  let sink: MiniSink;
  let session: SmtpSession | undefined;
  beforeEach(async () => {
    sink = await startMiniSink({ pipelining: true, auth: true, starttls });
  });
  afterEach(async () => {
    session?.dispose();
    session = undefined;
    await sink.close();
  });
  checkLeaks();

  it('offers STARTTLS in clear text and AUTH only over TLS; rx-smtp connects, authenticates and sends', async () => {
    session = createSession({ tls: 'starttls-required', tlsOptions: { ca } });
    await lastValueFrom(session.connect({ host: '127.0.0.1', port: sink.port }, 'bench', 'bench-password'));
    expect(session.state.secure).to.equal(true);
    expect(session.capabilities!.has('AUTH')).to.equal(true);
    expect(session.capabilities!.has('STARTTLS')).to.equal(false);
    await lastValueFrom(session.send({ from: 'a@example.test', to: 'b@example.test', body: 'Subject: x\r\n\r\nx\r\n' }));
    expect(sink.messages).to.equal(1);
    expect(sink.handshakes).to.equal(1);
  });

  it('refuses AUTH before STARTTLS', async () => {
    const plain = net.connect({ port: sink.port, host: '127.0.0.1' });
    await replyTo(plain, '220');
    const ehlo = replyTo(plain, '250');
    plain.write('EHLO client.example.test\r\n');
    expect(await ehlo).to.match(/^250[ -]STARTTLS\r$/m).and.not.contain('AUTH');
    const refused = replyTo(plain, '502');
    plain.write('AUTH PLAIN AGJlbmNoAGJlbmNo\r\n');
    await refused;
    plain.destroy();
  });

  it('resumes a TLS session a client offers again, and counts it', async () => {
    const first = await tlsVisit(sink.port);
    expect(first.reused).to.equal(false);
    expect(first.session).to.be.instanceOf(Buffer);
    const second = await tlsVisit(sink.port, first.session);
    expect(second.reused).to.equal(true);
    expect({ handshakes: sink.handshakes, resumed: sink.resumed }).to.deep.equal({ handshakes: 2, resumed: 1 });
  });

  it('drops what was pipelined behind STARTTLS instead of acting on it (RFC 3207 5)', async () => {
    const visit = await tlsVisit(sink.port, undefined, 'NOOP\r\n');
    expect(visit.overTls).to.equal('221 2.0.0 Bye\r\n');
    expect(sink.handshakes).to.equal(1);
  });
});
