import type { SMTPServerAddress, SMTPServerOptions } from 'smtp-server';
import { startTlsSmtpServer } from '../cli/run';
import { checkLeaks } from '../fixtures/handles';
import { type FixtureOptions, PASSWORD, type SmtpServerFixture, USER } from '../fixtures/smtp-server';

/**
 * The servers README examples run against: smtp-server in this process with the CA-signed
 * `localhost` certificate (STARTTLS, or implicit TLS with `secure: true`), AUTH PLAIN and LOGIN
 * for alice / s3cret only after TLS, queue ids in its replies (`Ok: queued as Q1`, as real servers
 * give), and a record of every AUTH tried, so that a test can say that a failed connect sent no
 * password.
 *
 * @example
 * ```ts
 * const servers = exampleServers();
 * const server = await servers.start({ onRcptTo: refuse({ 'carol@example.com': 550 }) });
 * // ... run the example against server.url ...
 * expect(server.auths).to.deep.equal(['PLAIN alice']);
 * ```
 */

/** A running example server. */
export interface ExampleServer extends SmtpServerFixture {
  /** `smtp://localhost:PORT` (`smtps://` with `secure: true`): the name the certificate is for. */
  url: string;
  /** Every AUTH the server was asked for, as `MECHANISM user`, in order. */
  auths: string[];
}

/** Starts example servers for the calling `describe`; each is closed after its test, and leaks are checked. */
export function exampleServers(): { start(options?: FixtureOptions): Promise<ExampleServer> } {
  const running: ExampleServer[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.close()));
  });
  checkLeaks();
  return {
    async start(options = {}) {
      const auths: string[] = [];
      const fixture = await startTlsSmtpServer({
        onAuth(auth, _session, callback) {
          auths.push(`${auth.method} ${auth.username}`);
          if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: USER });
          else callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
        },
        queueIds: true,
        ...options,
      });
      const server: ExampleServer = Object.assign(fixture, { url: `${options.secure === true ? 'smtps' : 'smtp'}://localhost:${fixture.port}`, auths });
      running.push(server);
      return server;
    },
  };
}

/**
 * An `onRcptTo` that refuses the addresses given with their reply code (a 421 also closes the
 * connection, as smtp-server does), and accepts every other.
 *
 * @example
 * ```ts
 * await servers.start({ onRcptTo: refuse({ 'carol@example.com': 550, 'dave@example.com': 451 }) });
 * ```
 */
export function refuse(codes: Record<string, number>): NonNullable<SMTPServerOptions['onRcptTo']> {
  return (address: SMTPServerAddress, _session, callback) => {
    const code = codes[address.address];
    if (code === undefined) callback();
    else callback(Object.assign(new Error(code < 500 ? '4.7.1 try again later' : '5.1.1 no such user'), { responseCode: code }));
  };
}

/**
 * An `onRcptTo` that greylists: the first RCPT for each address gets 451 4.7.1, the next ones are
 * accepted, except the addresses of `refused`, which always get 550. `tries` counts RCPTs per address.
 *
 * @example
 * ```ts
 * const greylist = greylisting(['carol@example.com']);
 * await servers.start({ onRcptTo: greylist.onRcptTo });
 * expect(greylist.tries.get('bob@example.com')).to.equal(2);
 * ```
 */
export function greylisting(refused: readonly string[]): { onRcptTo: NonNullable<SMTPServerOptions['onRcptTo']>; tries: Map<string, number> } {
  const tries = new Map<string, number>();
  return {
    tries,
    onRcptTo(address, _session, callback) {
      const count = (tries.get(address.address) ?? 0) + 1;
      tries.set(address.address, count);
      if (refused.includes(address.address)) callback(Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 }));
      else if (count === 1) callback(Object.assign(new Error('4.7.1 greylisted, try again later'), { responseCode: 451 }));
      else callback();
    },
  };
}
