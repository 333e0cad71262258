import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import * as sinon from 'sinon';
import type { TranscriptLine } from '../../lib/transport/transcript';
import { errorOf } from '../fixtures/connection';
import { type SharedServer, postfixMissing, startPostfix } from '../fixtures/postfix';
import { PASSWORD, USER, type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { record, sessionFixture, steps } from './session-fixture';

// Issue 2, interop: AUTH PLAIN, LOGIN and CRAM-MD5 against the real smtp-server package, bad
// credentials, the choice of mechanism, the redacted transcript; and STARTTLS + AUTH against a
// real Postfix where one is installed.

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const SECRETS = [PASSWORD, b64(PASSWORD), b64(`\0${USER}\0${PASSWORD}`), b64(USER)];
const show = (t: TranscriptLine): string => `${t.direction === 'client' ? 'C' : 'S'}: ${t.line}`;

/** The AUTH part of each exchange as the transcript must show it: every payload and challenge redacted. */
const REDACTED_AUTH: Record<string, string[]> = {
  PLAIN: ['C: AUTH PLAIN [redacted]', 'S: 235 Authentication successful'],
  LOGIN: ['C: AUTH LOGIN', 'S: 334 [redacted]', 'C: [redacted]', 'S: 334 [redacted]', 'C: [redacted]', 'S: 235 Authentication successful'],
  'CRAM-MD5': ['C: AUTH CRAM-MD5', 'S: 334 [redacted]', 'C: [redacted]', 'S: 235 Authentication successful'],
};

describe('session AUTH interop (issue 2)', () => {
  describe('smtp-server with AUTH PLAIN, LOGIN and CRAM-MD5', () => {
    const f = sessionFixture();
    let server: SmtpServerFixture;
    beforeEach(async () => {
      server = f.track(await startSmtpServer({ authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5'], hideSTARTTLS: true }));
    });

    for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
      it(`${mechanism}: authenticates, the states name it, and a mail goes out as the user`, async () => {
        const session = f.session({ authMechanisms: [mechanism], allowInsecureAuth: true });
        const run = record(session.connect({ host: '127.0.0.1', port: server.port }, USER, PASSWORD));
        await run.ended;
        expect(run.error).to.equal(undefined);
        expect(steps(run.values)).to.deep.equal(['connecting', 'greeting', 'ehlo', `authenticating:${mechanism}`, `connected:${mechanism}`]);
        await lastValueFrom(session.send({ from: 'a@example.test', to: 'b@example.test', body: 'Subject: t\r\n\r\nhi\r\n' }));
        expect(server.messages.map((m) => m.user)).to.deep.equal([USER]);
      });

      it(`${mechanism} with a wrong password: ESERVERPERM 535, closed with it`, async () => {
        const session = f.session({ authMechanisms: [mechanism], allowInsecureAuth: true });
        const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }, USER, 'not-the-password'));
        expect(error.code).to.equal('ESERVERPERM');
        expect(error.reply?.code).to.equal(535);
        expect(error.command).to.equal(`AUTH ${mechanism}`);
        expect(error.message).to.not.include('not-the-password');
        expect(session.state).to.deep.include({ status: 'closed', error });
      });

      it(`${mechanism}: transcript$ shows every AUTH payload and challenge as [redacted], stamped with Date.now()`, async () => {
        const start = Date.UTC(2026, 10, 29, 12, 0, 0);
        const clock = sinon.useFakeTimers({ toFake: ['Date'], now: start });
        const session = f.session({ authMechanisms: [mechanism], allowInsecureAuth: true });
        const lines: TranscriptLine[] = [];
        // Each line moves the fake clock on by 1 ms: the n-th line is stamped start + n, unless it continues a reply.
        session.transcript$.subscribe((t) => (lines.push(t), clock.tick(1)));
        await lastValueFrom(session.connect({ host: '127.0.0.1', port: server.port }, USER, PASSWORD));
        await lastValueFrom(session.quit(), { defaultValue: undefined });
        const shown = lines.map(show);
        const from = shown.findIndex((line) => line.startsWith('C: AUTH '));
        expect(shown.slice(from, from + REDACTED_AUTH[mechanism]!.length)).to.deep.equal(REDACTED_AUTH[mechanism]);
        for (const secret of SECRETS) expect(shown.join('\n'), secret).to.not.include(secret);
        expect(shown[0]).to.match(/^S: 220 /);
        expect(shown.at(-2)).to.equal('C: QUIT');
        // The lines of one multi-line reply share the stamp of the moment it was parsed.
        const continues = (i: number): boolean => i > 0 && lines[i - 1]!.direction === 'server' && /^\d{3}-/.test(lines[i - 1]!.line);
        const expected: number[] = [];
        lines.forEach((_, i) => expected.push(continues(i) ? expected[i - 1]! : start + i));
        expect(lines.map((t) => t.at)).to.deep.equal(expected);
      });
    }

    it('chooses the strongest mechanism offered by default (CRAM-MD5), and authMechanisms overrides it', async () => {
      const strongest = f.session({ allowInsecureAuth: true });
      const chosen = await lastValueFrom(strongest.connect({ host: '127.0.0.1', port: server.port }, USER, PASSWORD));
      expect(chosen.mechanism).to.equal('CRAM-MD5');
      const preferred = f.session({ allowInsecureAuth: true, authMechanisms: ['LOGIN', 'PLAIN'] });
      const state = await lastValueFrom(preferred.connect({ host: '127.0.0.1', port: server.port }, USER, PASSWORD));
      expect(state.mechanism).to.equal('LOGIN');
    });

    it('ENOTSUP when authMechanisms allows nothing the server offers (XOAUTH2 only)', async () => {
      const session = f.session({ allowInsecureAuth: true, authMechanisms: ['XOAUTH2'] });
      const lines: string[] = [];
      session.transcript$.subscribe((t) => lines.push(t.line));
      const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }, USER, PASSWORD));
      expect(error.code).to.equal('ENOTSUP');
      expect(lines.filter((line) => /^(AUTH|QUIT)/.test(line))).to.deep.equal(['QUIT']);
    });
  });

  describe('Postfix, STARTTLS then AUTH', function () {
    this.timeout(60_000); // postfix-up.sh takes about a second, more on a busy machine
    let postfix: SharedServer | null = null;
    before(async function () {
      postfix = await startPostfix();
      if (postfix === null) {
        console.warn(`    Postfix tests skipped: ${postfixMissing()}`);
        this.skip();
      }
    });
    after(() => postfix?.stop());
    const f = sessionFixture();

    it('authenticates with AUTH LOGIN inside TLS, the transcript redacted', async () => {
      const session = f.session({ tls: 'starttls-required', tlsOptions: { ca: postfix!.ca }, authMechanisms: ['LOGIN'] });
      const lines: string[] = [];
      session.transcript$.subscribe((t) => lines.push(t.line));
      const run = record(session.connect(`smtp://localhost:${postfix!.port}`, USER, PASSWORD));
      await run.ended;
      expect(run.error).to.equal(undefined);
      expect(steps(run.values)).to.deep.equal(['connecting', 'greeting', 'ehlo', 'starttls', 'ehlo', 'authenticating:LOGIN', 'connected:LOGIN']);
      expect(run.values.at(-1)).to.deep.include({ secure: true });
      for (const secret of SECRETS) expect(lines.join('\n')).to.not.include(secret);
      await lastValueFrom(session.quit(), { defaultValue: undefined });
    });

    it('refuses a wrong password with ESERVERPERM 535, and the session closes', async () => {
      const session = f.session({ tls: 'starttls-required', tlsOptions: { ca: postfix!.ca } });
      const error = await errorOf(session.connect(`smtp://localhost:${postfix!.port}`, USER, 'not-the-password'));
      expect(error.code).to.equal('ESERVERPERM');
      expect(error.reply?.code).to.equal(535);
      expect(session.state).to.deep.include({ status: 'closed', error });
    });
  });
});
