import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ServerTarget } from '../address';

/** A connected (or connecting) byte stream the session talks over: plain TCP or TLS. */
export type SmtpSocket = net.Socket | tls.TLSSocket;

/** The event after which the socket is ready: TCP's `connect`, or TLS's `secureConnect`. */
export type ReadyEvent = 'connect' | 'secureConnect';

/**
 * Opens a TCP or, for implicit TLS, a TLS socket to the target. Certificates are verified and SNI is
 * sent (never for an IP address, RFC 6066 3) unless the caller's `tlsOptions` say otherwise.
 *
 * @example
 * ```ts
 * const { socket, readyEvent } = openSocket({ host: 'localhost', port: 25, implicitTls: false }, undefined);
 * ```
 */
export function openSocket(
  target: ServerTarget,
  tlsOptions: tls.ConnectionOptions | undefined,
): { socket: SmtpSocket; readyEvent: ReadyEvent } {
  if (tlsOptions === undefined) {
    return { socket: net.connect({ host: target.host, port: target.port }), readyEvent: 'connect' };
  }
  const socket = tls.connect({ ...secureDefaults(target.host), ...tlsOptions, host: target.host, port: target.port });
  return { socket, readyEvent: 'secureConnect' };
}

/** Verification on, SNI = the host name unless it is an IP address. */
export function secureDefaults(host: string): tls.ConnectionOptions {
  return net.isIP(host) === 0 ? { rejectUnauthorized: true, servername: host } : { rejectUnauthorized: true };
}
