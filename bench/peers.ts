import { lastValueFrom } from 'rxjs';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SmtpSession } from '../lib/index';
import { loadRx } from './rx';

/**
 * Loopback: both clients talk to a server on this host.
 *
 * @example
 * ```ts
 * net.connect({ host: HOST, port });
 * ```
 */
export const HOST = '127.0.0.1';
/**
 * The sender of every benchmark message.
 *
 * @example
 * ```ts
 * ({ from: FROM, to: TO, body: oneKMessage() });
 * ```
 */
export const FROM = 'sender@example.test';
/**
 * The recipient of every benchmark message.
 *
 * @example
 * ```ts
 * ({ from: FROM, to: TO, body: oneKMessage() });
 * ```
 */
export const TO = 'rcpt@example.test';

/**
 * A 1 KB message (three headers and 12 lines of 76 characters, 1,008 bytes), built once:
 * neither client builds MIME.
 *
 * @example
 * ```ts
 * oneKMessage().length; // 1008
 * ```
 */
export function oneKMessage(): string {
  return `From: <${FROM}>\r\nTo: <${TO}>\r\nSubject: bench\r\n\r\n${`${'x'.repeat(76)}\r\n`.repeat(12)}`;
}

/**
 * An rx-smtp session connected to the server, without TLS.
 *
 * @example
 * ```ts
 * const session = await rxConnect(sink.port, { user: 'bench', pass: 'secret' });
 * ```
 */
export async function rxConnect(port: number, auth?: { user: string; pass: string }): Promise<SmtpSession> {
  const session = loadRx().createSession({ tls: 'none', allowInsecureAuth: auth !== undefined });
  await lastValueFrom(session.connect({ host: HOST, port }, auth?.user, auth?.pass));
  return session;
}

/**
 * QUIT, then dispose.
 *
 * @example
 * ```ts
 * await rxQuit(await rxConnect(sink.port));
 * ```
 */
export async function rxQuit(session: SmtpSession): Promise<void> {
  await lastValueFrom(session.quit(), { defaultValue: undefined });
  session.dispose();
}

/**
 * A nodemailer SMTPConnection, connected (greeting and EHLO done), without TLS.
 *
 * @example
 * ```ts
 * const conn = await nmConnect(sink.port);
 * ```
 */
export function nmConnect(port: number): Promise<SMTPConnection> {
  const conn = new SMTPConnection({ host: HOST, port, ignoreTLS: true, secure: false, logger: false, debug: false });
  return new Promise((resolve, reject) => {
    conn.once('error', reject);
    conn.connect(() => resolve(conn));
  });
}

/**
 * AUTH PLAIN on a nodemailer connection.
 *
 * @example
 * ```ts
 * await nmLogin(await nmConnect(sink.port), 'bench', 'secret');
 * ```
 */
export function nmLogin(conn: SMTPConnection, user: string, pass: string): Promise<void> {
  return new Promise((resolve, reject) =>
    conn.login({ user, pass, method: 'PLAIN' } as SMTPConnection.Credentials, (err) => (err ? reject(err) : resolve())),
  );
}

/**
 * One message on a nodemailer connection, as a prebuilt string.
 *
 * @example
 * ```ts
 * await nmSend(conn, oneKMessage());
 * ```
 */
export function nmSend(conn: SMTPConnection, message: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => conn.send({ from: FROM, to: [TO] }, message, (err) => (err ? reject(err) : resolve())));
}

/**
 * QUIT and wait for the connection to end.
 *
 * @example
 * ```ts
 * await nmQuit(conn);
 * ```
 */
export function nmQuit(conn: SMTPConnection): Promise<void> {
  return new Promise((resolve) => {
    conn.once('end', () => resolve());
    conn.quit();
  });
}
