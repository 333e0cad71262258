import { SmtpError, invalid } from './errors';

/**
 * Where to connect: an `smtp://host:port` (or `smtps://`, implicit TLS) URL, a bare `host` or
 * `host:port`, or a host and port. The port defaults to 25 (465 for `smtps://`).
 *
 * @example
 * ```ts
 * const a: ServerAddress = 'smtp://mail.example.com:587';
 * const b: ServerAddress = { host: '127.0.0.1', port: 2525 };
 * ```
 */
export type ServerAddress =
  | string
  | {
      /** A host name or an IP address. */
      host: string;
      /** Default 25 (465 means implicit TLS). */
      port?: number;
    };

/** A validated server address. `implicitTls` is true for `smtps://` URLs and port 465. */
export interface ServerTarget {
  host: string;
  port: number;
  implicitTls: boolean;
}

/** RFC 5321 4.5.4.1: the SMTP port; 587 (submission, RFC 6409) is just another port. */
export const DEFAULT_SMTP_PORT = 25;
/** RFC 8314 3.3: submission over implicit TLS. */
export const IMPLICIT_TLS_PORT = 465;
const MAX_PORT = 65_535;

// A host name is letters, digits, dots, hyphens and underscores (seen in real internal names);
// an IP literal is handled by the URL parser ([::1]) or is dotted decimal. Anything else,
// notably white space and controls, could smuggle bytes into a log or a TLS servername.
const HOST_PATTERN = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+)$/;

/**
 * Validates a {@link ServerAddress}, throwing an `EINVAL` {@link SmtpError} for an empty host,
 * a port that is not an integer in 1..65535, or a malformed URL.
 *
 * @example
 * ```ts
 * parseServerAddress('smtps://mail.example.com'); // { host: 'mail.example.com', port: 465, implicitTls: true }
 * ```
 */
export function parseServerAddress(server: ServerAddress): ServerTarget {
  if (typeof server === 'string') return parseUrl(server);
  if (server === null || typeof server !== 'object') throw invalid(`server must be a string or { host, port }, got ${typeof server}`);
  const port = server.port ?? DEFAULT_SMTP_PORT;
  return checked(server.host, port, port === IMPLICIT_TLS_PORT);
}

// The URL parser drops tabs and line breaks and trims spaces ("local\r\nhost" would become
// "localhost"): an address that carries them is malformed, not something to repair quietly.
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f]/;

function parseUrl(text: string): ServerTarget {
  if (CONTROL_OR_SPACE.test(text)) throw invalid(`malformed server URL: ${JSON.stringify(text.slice(0, 100))}`);
  const withScheme = text.includes('://') ? text : `smtp://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalid(`malformed server URL: ${JSON.stringify(text.slice(0, 100))}`);
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw invalid(`unsupported URL scheme ${JSON.stringify(url.protocol)}: use smtp:// or smtps://`);
  }
  if (url.username || url.password || (url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) {
    throw invalid('server URL must be scheme://host[:port] only; pass credentials to connect()');
  }
  const implicitTls = url.protocol === 'smtps:';
  const port = url.port === '' ? (implicitTls ? IMPLICIT_TLS_PORT : DEFAULT_SMTP_PORT) : Number(url.port);
  return checked(url.hostname, port, implicitTls || port === IMPLICIT_TLS_PORT);
}

function checked(host: unknown, port: unknown, implicitTls: boolean): ServerTarget {
  if (typeof host !== 'string' || host.length === 0) throw invalid('server host is empty');
  if (host.length > 255 || !HOST_PATTERN.test(host)) throw invalid(`invalid server host ${JSON.stringify(host.slice(0, 100))}`);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > MAX_PORT) {
    throw invalid(`port must be an integer in 1..${MAX_PORT}, got ${String(port)}`);
  }
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return { host: bare, port, implicitTls };
}
