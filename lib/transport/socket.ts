import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ServerTarget } from '../address';
import { sanitize } from '../reply/sanitize';

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
  // No Nagle: writes are already batched (cork/uncork), and a small write behind an unacknowledged one
  // (a streamed body's last chunk, then the end of data) would otherwise wait for a delayed ACK, ~40 ms.
  if (tlsOptions === undefined) {
    return { socket: net.connect({ host: target.host, port: target.port, noDelay: true }), readyEvent: 'connect' };
  }
  const socket = tls.connect({ ...secureDefaults(target.host), ...tlsOptions, host: target.host, port: target.port });
  socket.setNoDelay(true);
  return { socket, readyEvent: 'secureConnect' };
}

/** Verification on, SNI = the host name unless it is an IP address. */
export function secureDefaults(host: string): tls.ConnectionOptions {
  return net.isIP(host) === 0 ? { rejectUnauthorized: true, servername: host } : { rejectUnauthorized: true };
}

/**
 * The subject of the peer's certificate as `CN=mail.example.com, O=Example` (sanitised: it is the
 * server's text), or undefined when it sent none.
 *
 * @example
 * ```ts
 * peerSubject(tlsSocket); // 'CN=localhost'
 * ```
 */
export function peerSubject(socket: tls.TLSSocket): string | undefined {
  const subject = socket.getPeerCertificate()?.subject as Record<string, string | string[] | undefined> | undefined;
  if (subject === undefined || subject === null) return undefined;
  const parts = Object.entries(subject).flatMap(([key, value]) => (value === undefined ? [] : [`${key}=${[value].flat().join('+')}`]));
  return parts.length === 0 ? undefined : sanitize(parts.join(', '));
}
