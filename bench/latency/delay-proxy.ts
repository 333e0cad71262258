import * as net from 'node:net';
import { DelayLine } from './delay-line';

/**
 * A running delaying proxy: the port clients connect to, and how to stop it.
 *
 * @example
 * ```ts
 * const proxy: DelayProxy = await startDelayProxy(sink.port, 10);
 * ```
 */
export interface DelayProxy {
  readonly port: number;
  /** Stops listening and destroys every open link. */
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 that makes the path to `targetPort` look `rttMs` long: every chunk read
 * on either side is written to the other side `rttMs / 2` later, in order, and an end is passed on
 * just as late. Nagle is off on both sockets, so a small chunk is never held back for more.
 * The TCP handshake itself is not delayed: a connect costs one round trip less than on a real path.
 *
 * @example
 * ```ts
 * const proxy = await startDelayProxy(smtpSink.port, 10);
 * // connect to proxy.port: every reply comes 10 ms after its command went out
 * await proxy.close();
 * ```
 */
export function startDelayProxy(targetPort: number, rttMs: number, host = '127.0.0.1'): Promise<DelayProxy> {
  const links = new Set<() => void>();
  // Half-open on both sides: an end is passed on by the delay line, never answered at once by Node.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ port: targetPort, host, noDelay: true, allowHalfOpen: true });
    client.setNoDelay(true);
    const teardown = link(client, upstream, rttMs / 2);
    links.add(teardown);
    client.once('close', () => links.delete(teardown));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close() {
          for (const teardown of links) teardown();
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}

/** Joins two sockets through a delay line each way; returns what tears the link down. */
function link(a: net.Socket, b: net.Socket, oneWayMs: number): () => void {
  const ab = pipeDelayed(a, b, oneWayMs);
  const ba = pipeDelayed(b, a, oneWayMs);
  const teardown = (): void => {
    ab.clear();
    ba.clear();
    a.destroy();
    b.destroy();
  };
  // A reset or an error on either side is not delayed: the link is simply gone.
  a.once('error', teardown);
  b.once('error', teardown);
  return teardown;
}

/**
 * `from`'s bytes to `to`, each chunk `delayMs` late. Reading pauses while `to` cannot take more,
 * so a slow side holds back the other as TCP would, and the queue stays bounded.
 */
function pipeDelayed(from: net.Socket, to: net.Socket, delayMs: number): DelayLine {
  let waitingForDrain = false;
  const line = new DelayLine(delayMs, (item) => {
    if (to.destroyed) return;
    if (item === null) {
      to.end();
      return;
    }
    if (!to.write(item) && !waitingForDrain) {
      waitingForDrain = true;
      from.pause();
      to.once('drain', () => {
        waitingForDrain = false;
        from.resume();
      });
    }
  });
  from.on('data', (chunk: Buffer) => line.push(chunk));
  from.once('end', () => line.push(null));
  return line;
}
