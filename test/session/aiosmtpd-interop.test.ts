import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import { SmtpError } from '../../lib/errors';
import type { Mail } from '../../lib/mail/mail';
import { type SmtpSession, createSession } from '../../lib/session';
import { aiosmtpdMissing, startAiosmtpd } from '../fixtures/aiosmtpd';
import { checkLeaks } from '../fixtures/handles';
import type { SharedServer } from '../fixtures/postfix';

/** aiosmtpd: STARTTLS, AUTH PLAIN/LOGIN required after it, SMTPUTF8; no PIPELINING, CHUNKING or DSN. */
describe('interop with aiosmtpd (Python)', function () {
  this.timeout(60_000);
  let server: SharedServer | null = null;
  let session: SmtpSession | undefined;
  const written: string[] = [];
  /** aiosmtpd numbers what it stores from 1 for the whole run: mails accepted by earlier tests count. */
  let stored = 0;

  before(async function () {
    server = await startAiosmtpd();
    if (server === null) {
      console.warn(`    aiosmtpd tests skipped: ${aiosmtpdMissing()}`);
      this.skip();
    }
  });
  after(() => server?.stop());
  beforeEach(() => {
    written.length = 0;
    session = createSession({ tlsOptions: { ca: server!.ca } });
    session.transcript$.subscribe((t) => t.direction === 'client' && written.push(t.line));
  });
  afterEach(() => {
    session?.dispose();
    session = undefined;
  });
  checkLeaks();

  const connect = (password = 's3cret') => lastValueFrom(session!.connect({ host: '127.0.0.1', port: server!.port }, 'alice', password));
  const mail = (i: number, overrides: Partial<Mail> = {}): Mail => ({
    from: 'alice@example.test',
    to: `rcpt${i}@example.test`,
    body: `Subject: ${i}\r\n\r\n.leading dot ${i}\r\n`,
    ...overrides,
  });

  it('upgrades with STARTTLS, authenticates, and sends a batch without PIPELINING, byte for byte', async () => {
    const state = await connect();
    expect(state.secure).to.equal(true);
    expect(state.mechanism).to.be.oneOf(['PLAIN', 'LOGIN']);
    expect(session!.capabilities?.has('PIPELINING')).to.equal(false);

    const outcomes = await lastValueFrom(session!.sendAll([mail(1), mail(2), mail(3)]).pipe(toArray()));

    expect(outcomes.map((o) => o.ok)).to.deep.equal([true, true, true]);
    for (const n of [1, 2, 3]) {
      const { eml, json } = await server!.mail(++stored);
      expect(json.rcpt_tos).to.deep.equal([`rcpt${n}@example.test`]);
      expect(json.sasl_username).to.equal('alice');
      expect(json.tls).to.not.equal(false);
      expect(eml.toString()).to.equal(`Subject: ${n}\r\n\r\n.leading dot ${n}\r\n`);
    }
  });

  it('refuses a wrong password with ESERVERPERM 535', async () => {
    const error = await connect('wrong').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(SmtpError);
    expect((error as SmtpError).code).to.equal('ESERVERPERM');
    expect((error as SmtpError).reply?.code).to.equal(535);
    expect(written.join('\n')).to.not.contain(Buffer.from('\0alice\0wrong').toString('base64'));
  });

  it('sends SMTPUTF8 for a non-ASCII recipient, and a refused recipient is a per-mail failure', async () => {
    await connect();
    const outcomes = await lastValueFrom(
      session!.sendAll([mail(1, { to: 'reject@example.test' }), mail(2, { to: 'jörg@example.test' })]).pipe(toArray()),
    );

    expect(outcomes[0]!.ok).to.equal(false);
    expect(!outcomes[0]!.ok && outcomes[0]!.error.code).to.equal('ESERVERPERM');
    expect(outcomes[1]!.ok).to.equal(true);
    expect(written.some((l) => /^MAIL FROM:<alice@example\.test>.* SMTPUTF8/.test(l))).to.equal(true);
    const { json } = await server!.mail(++stored);
    expect(json.rcpt_tos).to.deep.equal(['jörg@example.test']);
    expect(json.smtp_utf8).to.equal(true);
  });

  it('refuses DSN with ENOTSUP before MAIL: aiosmtpd does not offer it', async () => {
    await connect();
    const error = await lastValueFrom(session!.send(mail(1, { dsn: { notify: ['FAILURE'] } }))).catch((e: unknown) => e);
    expect((error as SmtpError).code).to.equal('ENOTSUP');
    expect(written.filter((l) => l.startsWith('MAIL'))).to.deep.equal([]);
  });
});
