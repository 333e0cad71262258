import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import { SmtpError } from '../../lib/errors';
import { type SmtpSession, createSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';
import { type SharedServer, postfixMissing, startPostfix } from '../fixtures/postfix';
import { PASSWORD, USER, type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { CA, cert } from '../fixtures/tls-scripted-server';

describe('session TLS against real servers', () => {
  let session: SmtpSession | undefined;

  describe('smtp-server, STARTTLS with AUTH only under TLS', () => {
    let server: SmtpServerFixture;
    beforeEach(async () => {
      server = await startSmtpServer({ key: cert('localhost.key'), cert: cert('localhost.pem'), allowInsecureAuth: false });
    });
    afterEach(async () => {
      session?.dispose();
      session = undefined;
      await server.close();
    });
    checkLeaks();

    it('upgrades, says EHLO again and authenticates, as state$ shows', async () => {
      session = createSession({ tlsOptions: { ca: CA } });
      const states = await lastValueFrom(session.connect(`smtp://localhost:${server.port}`, USER, PASSWORD).pipe(toArray()));
      expect(states.map((s) => `${s.status}${s.secure ? '+tls' : ''}`)).to.deep.equal([
        'connecting',
        'greeting',
        'ehlo',
        'starttls',
        'ehlo+tls',
        'authenticating+tls',
        'connected+tls',
      ]);
      const { tls } = states.at(-1)!;
      expect(tls).to.include({ authorized: true });
      expect(tls!.protocol).to.match(/^TLSv1\.[23]$/);
      expect(tls!.cipher).to.be.a('string').and.not.equal('unknown');
    });

    it('keeps the capabilities of the second EHLO only (no STARTTLS inside TLS)', async () => {
      session = createSession({ tlsOptions: { ca: CA } });
      const lines: string[] = [];
      session.transcript$.subscribe((t) => lines.push(t.line));
      await lastValueFrom(session.connect(`smtp://localhost:${server.port}`, USER, PASSWORD));
      expect(lines.filter((line) => line.endsWith('STARTTLS'))).to.have.lengthOf(2); // offered once, sent once
      expect([...session.capabilities!.keys()]).to.include('AUTH').and.not.include('STARTTLS');
    });

    it('sends a mail inside TLS as the authenticated user, and quits', async () => {
      session = createSession({ tlsOptions: { ca: CA } });
      await lastValueFrom(session.connect(`smtp://localhost:${server.port}`, USER, PASSWORD));
      const body = `Subject: over TLS\r\n\r\n${'x'.repeat(100_000)}\r\n`;
      await lastValueFrom(session.send({ from: 'a@example.test', to: 'b@example.test', body }));
      await lastValueFrom(session.quit(), { defaultValue: undefined });
      expect(server.messages).to.have.lengthOf(1);
      expect(server.messages[0]).to.deep.include({ secure: true, user: USER });
      expect(server.messages[0]!.raw.toString()).to.equal(body);
      expect(session.state).to.deep.include({ status: 'closed', secure: false });
    });
  });

  describe('Postfix, STARTTLS with AUTH only after TLS', function () {
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
    afterEach(() => {
      session?.dispose();
      session = undefined;
    });
    checkLeaks();

    it('upgrades and authenticates with AUTH PLAIN, trusting its certificate', async () => {
      session = createSession({ tlsOptions: { ca: postfix!.ca }, authMechanisms: ['PLAIN'] });
      const state = await lastValueFrom(session.connect(`smtp://localhost:${postfix!.port}`, USER, PASSWORD));
      expect(state).to.deep.include({ status: 'connected', secure: true, mechanism: 'PLAIN' });
      expect(state.tls).to.include({ authorized: true });
      await lastValueFrom(session.quit(), { defaultValue: undefined });
    });

    it('refuses its self-signed certificate without ca, with DEPTH_ZERO_SELF_SIGNED_CERT', async () => {
      session = createSession();
      const error = await lastValueFrom(session.connect(`smtp://localhost:${postfix!.port}`, USER, PASSWORD)).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).to.be.instanceOf(SmtpError).with.property('code', 'DEPTH_ZERO_SELF_SIGNED_CERT');
    });
  });
});
