import * as net from 'node:net';
import { expect } from 'chai';
import { type DelayProxy, startDelayProxy } from '../../bench/latency/delay-proxy';
import { checkLeaks } from '../fixtures/handles';

/** A server on port 0 that writes back what it reads and ends when its client ends. */
function startEcho(): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('end', () => socket.end());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the socket reads until the other side ends. */
function readToEnd(socket: net.Socket): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return new Promise((resolve) => socket.once('end', () => resolve(text)));
}

describe('bench/latency/delay-proxy', () => {
  let echo: net.Server;
  let proxy: DelayProxy | undefined;
  let client: net.Socket | undefined;
  beforeEach(async () => {
    echo = await startEcho();
  });
  afterEach(async () => {
    client?.destroy();
    await proxy?.close();
    await new Promise((resolve) => echo.close(resolve));
    proxy = client = undefined;
  });
  checkLeaks();

  const echoPort = (): number => (echo.address() as net.AddressInfo).port;

  it('makes a round trip take at least the RTT asked for', async () => {
    proxy = await startDelayProxy(echoPort(), 30);
    client = await connect(proxy.port);
    const start = performance.now();
    const answered = new Promise((resolve) => client!.once('data', resolve));
    client.write('ping');
    await answered;
    expect(performance.now() - start).to.be.at.least(30);
  });

  it('passes every byte both ways, in order, however it was cut', async () => {
    proxy = await startDelayProxy(echoPort(), 2);
    client = await connect(proxy.port);
    const sent = Array.from({ length: 200 }, (_, i) => `line ${i};`);
    const received = readToEnd(client);
    for (const piece of sent) client.write(piece);
    client.end();
    expect(await received).to.equal(sent.join(''));
  });

  it('passes 8 MB each way without loss', async () => {
    proxy = await startDelayProxy(echoPort(), 2);
    client = await connect(proxy.port);
    const big = Buffer.alloc(8 * 1024 * 1024, 'abcdefgh');
    const received = readToEnd(client);
    client.end(big);
    const text = await received;
    expect(text.length).to.equal(big.length);
    expect(text === big.toString()).to.equal(true);
  });

  it('destroys the links it holds when closed', async () => {
    proxy = await startDelayProxy(echoPort(), 2);
    client = await connect(proxy.port);
    // Half-open, the client sees the end of what the proxy sends; it would stay open to write.
    const ended = new Promise((resolve) => client!.once('end', resolve));
    await proxy.close();
    proxy = undefined;
    await ended;
  });
});
