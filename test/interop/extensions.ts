import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import { SmtpError } from '../../lib/errors';
import { USER } from '../fixtures/smtp-server';
import { errorOf } from '../send/helpers';
import type { SessionFixture } from '../session/session-fixture';
import type { Envelope } from './store';
import { type ConnectHow, type InteropTarget, connectTo, sessionOptions, stepsOf } from './target';

/**
 * Service extensions against a third-party server, as shared mocha behaviours (see behaviours.ts):
 * AUTH with each mechanism it offers, SMTPUTF8 where it is offered, and `ENOTSUP` before MAIL for
 * what it does not offer.
 *
 * @example
 * ```ts
 * itAuthenticatesWithEach(f, exim, ['PLAIN', 'LOGIN'], { starttls: true, recorded: () => ({ sasl_username: 'alice' }) });
 * itSendsSmtpUtf8(f, exim);
 * itRefusesBeforeMail(f, dovecot, 'DSN');
 * ```
 */

/** How a server takes AUTH: inside STARTTLS or over plain TCP, and what its store records of it. */
export interface AuthHow {
  starttls: boolean;
  /** The envelope fields the store writes for a mail sent after AUTH with `mechanism`. */
  recorded(mechanism: string): Partial<Envelope>;
}

/** AUTH with each of `mechanisms` as alice, a mail sent, and the store's record of who sent it; a wrong password is 535. */
export function itAuthenticatesWithEach(f: SessionFixture, target: InteropTarget, mechanisms: readonly string[], how: AuthHow): void {
  const where = how.starttls ? '+tls' : '';
  const connect: ConnectHow = how.starttls ? { starttls: true } : { allowInsecureAuth: true };
  for (const mechanism of mechanisms) {
    it(`AUTH ${mechanism}${how.starttls ? ' after STARTTLS' : ' without TLS'}: alice is authenticated, as the stored mail records`, async () => {
      const { session, states } = await connectTo(f, target, { ...connect, auth: true, authMechanisms: [mechanism] });
      expect(stepsOf(states).slice(-2)).to.deep.equal([`authenticating${where}:${mechanism}`, `connected${where}:${mechanism}`]);
      const from = target.store.sender('auth');
      await lastValueFrom(session.send({ from, to: 'b@example.test', body: 'Subject: auth\r\n\r\nhi\r\n' }));
      const [stored] = await target.store.from(from, 1);
      expect(stored!.json).to.deep.include(how.recorded(mechanism));
    });
  }

  it(`refuses a wrong password${how.starttls ? ' after STARTTLS' : ''} with ESERVERPERM 535, and the session closes`, async () => {
    const session = f.session(sessionOptions(target, connect));
    const error = await errorOf(session.connect({ host: '127.0.0.1', port: target.handle.server.port }, USER, 'not-the-password'));
    expect(error.code).to.equal('ESERVERPERM');
    expect(error.reply?.code).to.equal(535);
    expect(error.message).to.not.include('not-the-password');
    expect(session.state.status).to.equal('closed');
  });
}

/** Credentials for a server that offers no AUTH (`where`, e.g. before STARTTLS): `ENOTSUP`, saying none is offered. */
export function itFindsNoAuth(f: SessionFixture, target: InteropTarget, where: string, how: ConnectHow): void {
  it(`offers no AUTH ${where}: credentials are ENOTSUP, no mechanism offered`, async () => {
    const error = await connectTo(f, target, { ...how, auth: true }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(SmtpError).with.property('code', 'ENOTSUP');
    expect((error as SmtpError).message).to.contain('the server offers no AUTH mechanism');
  });
}

/** SMTPUTF8: a non-ASCII recipient goes with `MAIL ... SMTPUTF8`, is accepted, and the copy stored names it. */
export function itSendsSmtpUtf8(f: SessionFixture, target: InteropTarget): void {
  it('SMTPUTF8: a non-ASCII recipient goes with MAIL ... SMTPUTF8 and is stored under its name', async () => {
    const { session, written } = await connectTo(f, target);
    const from = target.store.sender('utf8');
    const result = await lastValueFrom(session.send({ from, to: 'jörg@example.test', body: `${target.header}Subject: utf8\r\n\r\nhej\r\n` }));
    expect(written.find((line) => line.startsWith('MAIL'))).to.match(/ SMTPUTF8$/);
    expect(result.accepted).to.deep.equal(['jörg@example.test']);
    const [stored] = await target.store.from(from, 1);
    expect(stored!.json.rcpt_tos).to.deep.equal(['jörg@example.test']);
  });
}

/** What a mail asks for that needs an extension: a non-ASCII recipient (SMTPUTF8), or DSN. */
const NEEDS: Record<'SMTPUTF8' | 'DSN', { to: string; dsn?: { notify: 'SUCCESS'[] } }> = {
  SMTPUTF8: { to: 'jörg@example.test' },
  DSN: { to: 'b@example.test', dsn: { notify: ['SUCCESS'] } },
};

/** A mail that needs `extension`, which the server does not offer: `ENOTSUP`, and not a byte of it written. */
export function itRefusesBeforeMail(f: SessionFixture, target: InteropTarget, extension: 'SMTPUTF8' | 'DSN'): void {
  it(`${extension} is not offered: a mail that needs it is ENOTSUP before MAIL`, async () => {
    const { session, written } = await connectTo(f, target);
    const start = written.length;
    const error = await errorOf(session.send({ from: 'a@example.test', body: 'hi\r\n', ...NEEDS[extension] }));
    expect(error.code).to.equal('ENOTSUP');
    expect(written.slice(start)).to.deep.equal([]);
  });
}
