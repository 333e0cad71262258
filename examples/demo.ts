// npm start: an embedded SMTP server (the `smtp-server` package, in this process, on a free
// loopback port, STARTTLS with a test certificate, AUTH PLAIN/LOGIN/CRAM-MD5 for alice/s3cret),
// and an rx-smtp session that connects, upgrades to TLS, authenticates, sends three mails
// with one pipelined sendAll (one recipient is refused) and quits, printing every
// state transition and the redacted transcript as they happen.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { concat, ignoreElements, lastValueFrom, tap } from 'rxjs';
import { SMTPServer } from 'smtp-server';
import { createSession } from '../lib/index';

const certs = join(__dirname, '..', 'test', 'fixtures', 'certs');
const USER = 'alice';
const PASSWORD = 's3cret';

async function main(): Promise<void> {
  const server = new SMTPServer({
    name: 'demo.localhost',
    key: readFileSync(join(certs, 'localhost.key')),
    cert: readFileSync(join(certs, 'localhost.pem')),
    authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5'],
    logger: false,
    onRcptTo(address, _session, callback) {
      callback(address.address.startsWith('nobody@') ? Object.assign(new Error('No such user'), { responseCode: 550 }) : undefined);
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => callback(null));
    },
    onAuth(auth, _session, callback) {
      const ok = auth.method === 'CRAM-MD5' ? auth.validatePassword?.(PASSWORD) : auth.password === PASSWORD;
      callback(auth.username === USER && ok ? null : new Error('Invalid user name or password'), { user: auth.username });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  console.log(`embedded server listening on 127.0.0.1:${port}\n`);

  const session = createSession({ timeout: 10_000, tlsOptions: { ca: readFileSync(join(certs, 'ca.pem')) } });
  session.transcript$.subscribe((t) => console.log(`  ${t.direction === 'client' ? 'C:' : 'S:'} ${t.line}`));
  session.state$.subscribe((s) => {
    const extra = [s.mechanism, s.tls && `${s.tls.protocol} ${s.tls.cipher}`, s.error?.code].filter(Boolean).join(', ');
    console.log(`state → ${s.status}${extra ? ` (${extra})` : ''}`);
  });

  try {
    await lastValueFrom(
      concat(
        session.connect(`smtp://localhost:${port}`, USER, PASSWORD),
        session
          .sendAll(
            ['Hello', 'Pipelined', 'Third'].map((subject, i) => ({
              from: 'demo@example.test',
              to: i === 1 ? ['bob@example.test', 'nobody@example.test'] : 'bob@example.test',
              body: `From: demo@example.test\r\nTo: bob@example.test\r\nSubject: ${subject}\r\n\r\n.a line that starts with a dot\r\n`,
            })),
          )
          .pipe(
            tap((o) =>
              console.log(
                o.ok
                  ? `\nsent: accepted ${o.result.accepted.join(', ')}; rejected ${o.result.rejected.map((r) => r.recipient).join(', ') || 'none'}; ${o.result.bytes} octets\n`
                  : `\nfailed: ${o.error.code} ${o.error.message}\n`,
              ),
            ),
            ignoreElements(),
          ),
        session.quit().pipe(tap((reply) => console.log(`\nQUIT answered ${reply.code}`))),
      ),
    );
  } finally {
    session.dispose();
    server.close();
  }
}

main().catch((err: unknown) => {
  console.error('demo failed:', err);
  process.exitCode = 1;
});
