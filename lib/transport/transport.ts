import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import type { ServerTarget } from '../address';
import { type ReadyEvent, type SmtpSocket, openSocket } from './socket';

/**
 * Where a connection's sockets come from: Node's `net` and `tls` for real, or a test's fakes, so
 * that a whole dialogue can run in the virtual time of RxJS's `TestScheduler`.
 *
 * @example
 * ```ts
 * const { socket, readyEvent } = nodeTransport.open(target, undefined);
 * ```
 */
export interface Transport {
  /** Opens a socket to the target: plain TCP, or TLS from the first byte when `tlsOptions` are given. */
  open(target: ServerTarget, tlsOptions: tls.ConnectionOptions | undefined): { socket: SmtpSocket; readyEvent: ReadyEvent };
  /** Starts TLS over an open stream (after STARTTLS's 220); the socket is ready on 'secureConnect'. */
  upgrade(plain: Duplex, tlsOptions: tls.ConnectionOptions): SmtpSocket;
}

/**
 * The real sockets: `net.connect`, `tls.connect` (see {@link openSocket}).
 *
 * @example
 * ```ts
 * createSession({}); // uses nodeTransport
 * ```
 */
export const nodeTransport: Transport = {
  open: openSocket,
  upgrade: (plain, tlsOptions) => tls.connect({ ...tlsOptions, socket: plain }),
};
