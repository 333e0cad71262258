import * as net from 'node:net';
import * as os from 'node:os';

// A name worth announcing is a dotted domain (RFC 5321 4.1.1.1 asks for the FQDN); a bare host
// name like "runner-7" makes strict servers (reject_non_fqdn_helo_hostname) refuse us.
const FQDN = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * The EHLO argument when the caller gives none: this machine's host name when it is a fully
 * qualified domain name, otherwise an address literal of the local end of the socket (RFC 5321
 * 4.1.3): `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
 *
 * @example
 * ```ts
 * defaultClientName('127.0.0.1'); // 'mail.example.com' or '[127.0.0.1]'
 * ```
 */
export function defaultClientName(localAddress: string | undefined): string {
  const host = os.hostname();
  if (FQDN.test(host)) return host;
  const address = (localAddress ?? '127.0.0.1').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  return net.isIPv6(address) ? `[IPv6:${address}]` : `[${address}]`;
}
