import { lastValueFrom, toArray } from 'rxjs';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Mail, SessionOptions, SmtpSession } from '../lib/index';
import type { Rx } from './rx';

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
 * A user name and password that every benchmark server accepts.
 *
 * @example
 * ```ts
 * await rxConnect(rx, port, { auth: BENCH_AUTH });
 * ```
 */
export const BENCH_AUTH = { user: 'bench', pass: 'bench-password' };

/**
 * How a benchmark session connects: with credentials (AUTH PLAIN), and with STARTTLS trusting
 * `ca` (required, so that the figure never quietly runs in plain text); without `ca`, no TLS.
 *
 * @example
 * ```ts
 * const how: Dial = { auth: BENCH_AUTH, ca: readFileSync('test/fixtures/certs/ca.pem') };
 * ```
 */
export interface Dial {
  auth?: { user: string; pass: string };
  ca?: Buffer;
}

/**
 * The session options that go with a {@link Dial}: plain text (with AUTH allowed in it) unless a
 * CA is given.
 *
 * @example
 * ```ts
 * rx.createSession(rxOptions({ ca }));
 * ```
 */
export function rxOptions(how: Dial = {}): SessionOptions {
  return how.ca === undefined ? { tls: 'none', allowInsecureAuth: how.auth !== undefined } : { tls: 'starttls-required', tlsOptions: { ca: how.ca } };
}

/**
 * An rx-smtp session of build `rx`, connected to the server.
 *
 * @example
 * ```ts
 * const session = await rxConnect(rx, sink.port, { auth: BENCH_AUTH });
 * ```
 */
export async function rxConnect(rx: Rx, port: number, how: Dial = {}): Promise<SmtpSession> {
  const session = rx.createSession(rxOptions(how));
  await rxDial(session, port, how);
  return session;
}

/**
 * Connects a session (new, or closed by an earlier QUIT) to the server.
 *
 * @example
 * ```ts
 * await rxDial(session, sink.port, { auth: BENCH_AUTH, ca });
 * ```
 */
export async function rxDial(session: SmtpSession, port: number, how: Dial = {}): Promise<void> {
  await lastValueFrom(session.connect({ host: HOST, port }, how.auth?.user, how.auth?.pass));
}

/**
 * One `sendAll` of `mails`, to its last outcome; throws if the server refused any (a benchmark
 * whose mails fail measures nothing). Only `ok` is read: the outcome's shape differs between builds.
 *
 * @example
 * ```ts
 * await rxSendAll(session, mails);
 * ```
 */
export async function rxSendAll(session: SmtpSession, mails: Mail[]): Promise<void> {
  const outcomes = await lastValueFrom(session.sendAll(mails).pipe(toArray()));
  if (outcomes.length !== mails.length || !outcomes.every((o) => o.ok)) throw new Error('rx-smtp: a message was refused');
}

/**
 * QUIT, then dispose (unless the session is to connect again).
 *
 * @example
 * ```ts
 * await rxQuit(await rxConnect(rx, sink.port));
 * ```
 */
export async function rxQuit(session: SmtpSession, { dispose = true } = {}): Promise<void> {
  await lastValueFrom(session.quit(), { defaultValue: undefined });
  if (dispose) session.dispose();
}

/**
 * nodemailer's options for a {@link Dial} (the same for SMTPConnection and a pooled transport):
 * STARTTLS required and `ca` trusted when a CA is given, plain text otherwise.
 *
 * @example
 * ```ts
 * nodemailer.createTransport({ pool: true, ...nmOptions(port) });
 * ```
 */
export function nmOptions(port: number, how: Dial = {}): SMTPConnection.Options {
  const security = how.ca === undefined ? { ignoreTLS: true } : { requireTLS: true, tls: { ca: how.ca } };
  return { host: HOST, port, secure: false, logger: false, debug: false, ...security };
}

/**
 * A nodemailer SMTPConnection, connected (greeting, EHLO, and STARTTLS with its second EHLO when
 * the {@link Dial} has a CA).
 *
 * @example
 * ```ts
 * const conn = await nmConnect(sink.port);
 * ```
 */
export function nmConnect(port: number, how: Dial = {}): Promise<SMTPConnection> {
  const conn = new SMTPConnection(nmOptions(port, how));
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
 * await nmLogin(await nmConnect(sink.port), BENCH_AUTH);
 * ```
 */
export function nmLogin(conn: SMTPConnection, { user, pass }: { user: string; pass: string }): Promise<void> {
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
 * `count` messages on a nodemailer connection, each awaited before the next: the fastest way
 * SMTPConnection allows (it takes one message at a time).
 *
 * @example
 * ```ts
 * await nmSendMany(conn, 1000, oneKMessage());
 * ```
 */
export async function nmSendMany(conn: SMTPConnection, count: number, message: string | Buffer): Promise<void> {
  for (let i = 0; i < count; i++) await nmSend(conn, message);
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
