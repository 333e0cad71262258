import { expect } from 'chai';
import nodemailer from 'nodemailer';
import type { SMTPServerOptions } from 'smtp-server';
import { SmtpError } from '../../lib/errors';
import { RxSmtpTransportError, type RxSmtpTransport, type RxSmtpTransportOptions, rxSmtpTransport } from '../../lib/nodemailer';
import { planTransport } from '../../lib/nodemailer/options';
import { checkLeaks } from '../fixtures/handles';
import { PASSWORD, type SmtpServerFixture, TEST_CA, USER, startSmtpServer } from '../fixtures/smtp-server';

const IDLE = 1_000;

function refusal(options: unknown): SmtpError {
  try {
    rxSmtpTransport(options as RxSmtpTransportOptions);
  } catch (err) {
    expect(err).to.be.instanceOf(SmtpError);
    return err as SmtpError;
  }
  throw new Error(`${JSON.stringify(options)} was accepted`);
}

describe('nodemailer/options: nodemailer’s SMTP options, mapped', () => {
  describe('planTransport', () => {
    const cases: [string, RxSmtpTransportOptions, Partial<ReturnType<typeof planTransport>>][] = [
      ['host alone: port 587, as in nodemailer', { host: 'mx.example' }, { server: { host: 'mx.example', port: 587 } }],
      ['secure: port 465, implicit TLS', { host: 'mx.example', secure: true }, { server: { host: 'mx.example', port: 465 }, session: { tls: 'implicit' } }],
      ['secure: false on 465: plain text first', { host: 'mx.example', port: 465, secure: false }, { session: { tls: 'starttls' } }],
      ['requireTLS', { host: 'mx.example', requireTLS: true }, { session: { tls: 'starttls-required' } }],
      ['requireTLS wins over ignoreTLS', { host: 'mx.example', requireTLS: true, ignoreTLS: true }, { session: { tls: 'starttls-required' } }],
      ['ignoreTLS', { host: 'mx.example', ignoreTLS: true }, { session: { tls: 'none' } }],
      ['tls as an object: tlsOptions', { host: 'mx.example', tls: { rejectUnauthorized: false } }, { session: { tlsOptions: { rejectUnauthorized: false } } }],
      ['tls as a mode: rx-smtp’s', { server: 'mx.example', tls: 'none' }, { session: { tls: 'none' } }],
      ['name: clientName; socketTimeout: timeout', { host: 'mx.example', name: 'client.example', socketTimeout: 30_000 }, { session: { clientName: 'client.example', timeout: 30_000 } }],
      ['auth: username and password', { host: 'mx.example', auth: { user: 'alice', pass: 's3cret' } }, { username: 'alice', password: 's3cret' }],
      ['auth.method: that mechanism alone', { host: 'mx.example', auth: { user: 'alice', pass: 's3cret', method: 'LOGIN' } }, { session: { authMechanisms: ['LOGIN'] } }],
      ['auth of type OAuth2: XOAUTH2 with the token', { host: 'mx.example', auth: { type: 'OAuth2', user: 'alice', accessToken: 'ya29' } }, { password: 'ya29', session: { authMechanisms: ['XOAUTH2'] } }],
      ['connectionTimeout and greetingTimeout: deadlines', { host: 'mx.example', connectionTimeout: 9_000, greetingTimeout: 3_000 }, { deadlines: { connectionTimeout: 9_000, greetingTimeout: 3_000 } }],
      ['pool with maxConnections and maxMessages', { host: 'mx.example', pool: true, maxConnections: 2, maxMessages: 10 }, { pool: { maxConnections: 2, maxMessagesPerConnection: 10 } }],
      ['maxMessages: Infinity', { host: 'mx.example', pool: true, maxMessages: Infinity }, { pool: { maxMessagesPerConnection: 1e9 } }],
      ['rx-smtp’s own options as before', { server: 'smtp://mx.example:2525', username: 'alice', password: 's3cret', timeout: 5_000 }, { server: 'smtp://mx.example:2525', session: { timeout: 5_000 } }],
    ];
    for (const [what, options, expected] of cases) {
      it(what, () => {
        expect(planTransport(options as never, IDLE)).to.deep.include(expected);
      });
    }

    it('maxConnections and maxMessages without pool: ignored, as in nodemailer', () => {
      const plan = planTransport({ host: 'mx.example', maxConnections: 2, maxMessages: 5 }, IDLE);
      expect(plan).to.not.have.property('pool');
      expect(plan.session).to.deep.equal({});
    });
  });

  describe('refuses with EINVAL', () => {
    const cases: [string, unknown][] = [
      ['no server and no host', {}],
      ['server and host', { server: 'mx.example', host: 'mx.example' }],
      ['an unknown option', { host: 'mx.example', nonsense: true }],
      ['nodemailer options rx-smtp does not take', { host: 'mx.example', logger: true }],
      ['an unknown auth key', { host: 'mx.example', auth: { user: 'a', pass: 'b', xoauth2: {} } }],
      ['OAuth2 without an accessToken', { host: 'mx.example', auth: { type: 'OAuth2', user: 'a', refreshToken: 'r' } }],
      ['auth and username', { host: 'mx.example', auth: { user: 'a', pass: 'b' }, username: 'a' }],
      ['name and clientName', { host: 'mx.example', name: 'a.example', clientName: 'b.example' }],
      ['a tls mode and secure', { host: 'mx.example', tls: 'none', secure: true }],
      ['tls as an object and tlsOptions', { host: 'mx.example', tls: {}, tlsOptions: {} }],
      ['a greetingTimeout that is not a whole number of ms', { host: 'mx.example', greetingTimeout: 1.5 }],
      ['secure that is not a boolean', { host: 'mx.example', secure: 'yes' }],
      ['a negative idleTimeout', { server: 'mx.example', idleTimeout: -1 }],
    ];
    for (const [what, options] of cases) {
      it(what, () => {
        expect(refusal(options).code).to.equal('EINVAL');
      });
    }
  });

  describe('against smtp-server', () => {
    let server: SmtpServerFixture | undefined;
    let transport: RxSmtpTransport | undefined;
    afterEach(async () => {
      await transport?.close();
      await server?.close();
      server = transport = undefined;
    });
    checkLeaks();

    async function serve(options: SMTPServerOptions = {}): Promise<number> {
      server = await startSmtpServer(options);
      return server.port;
    }
    const mail = (i = 0) => ({ from: 'alice@example.test', to: `rcpt${i}@example.test`, subject: `number ${i}`, text: 'hi' });
    const send = (options: RxSmtpTransportOptions, i = 0) => nodemailer.createTransport((transport = rxSmtpTransport(options))).sendMail(mail(i));

    it('secure: true speaks TLS from the first byte, and logs in', async () => {
      const port = await serve({ secure: true });
      await send({ host: '127.0.0.1', port, secure: true, tls: { ca: TEST_CA }, auth: { user: USER, pass: PASSWORD } });
      expect(server!.messages[0]).to.include({ secure: true, user: USER });
    });

    it('without secure, upgrades with STARTTLS, and names itself as `name` says', async () => {
      let ehloName = '';
      const port = await serve({ onMailFrom: (_a, session, cb) => ((ehloName = session.hostNameAppearsAs), cb()) });
      await send({ host: '127.0.0.1', port, tls: { ca: TEST_CA }, name: 'client.example.test' });
      expect(server!.messages[0]!.secure).to.equal(true);
      expect(ehloName).to.equal('client.example.test');
    });

    it('ignoreTLS stays in plain text', async () => {
      const port = await serve();
      await send({ host: '127.0.0.1', port, ignoreTLS: true });
      expect(server!.messages[0]!.secure).to.equal(false);
    });

    it('requireTLS fails with ETLS when the server offers no STARTTLS', async () => {
      const port = await serve({ hideSTARTTLS: true });
      const error = await send({ host: '127.0.0.1', port, requireTLS: true }).then(
        () => expect.fail('sent in plain text'),
        (err: RxSmtpTransportError) => err,
      );
      expect(error).to.be.instanceOf(RxSmtpTransportError);
      expect(error.code).to.equal('ETLS');
      expect(server!.messages).to.deep.equal([]);
    });

    it('auth.method uses that mechanism', async () => {
      let method = '';
      const port = await serve({
        authMethods: ['PLAIN', 'LOGIN'],
        onAuth: (auth, _s, cb) => ((method = auth.method), cb(null, { user: auth.username })),
      });
      await send({ host: '127.0.0.1', port, tls: { ca: TEST_CA }, auth: { user: USER, pass: PASSWORD, method: 'LOGIN' } });
      expect(method).to.equal('LOGIN');
    });

    it('pool: true sends concurrent mails over at most maxConnections connections, and verify() checks with one of its own', async () => {
      const port = await serve();
      const transporter = nodemailer.createTransport((transport = rxSmtpTransport({ host: '127.0.0.1', port, ignoreTLS: true, pool: true, maxConnections: 2 })));
      expect(await transporter.verify()).to.equal(true);
      const before = server!.connections;
      const infos = await Promise.all(Array.from({ length: 8 }, (_, i) => transporter.sendMail(mail(i))));
      expect(infos.map((info) => info.accepted)).to.deep.equal(Array.from({ length: 8 }, (_, i) => [`rcpt${i}@example.test`]));
      expect(server!.connections - before).to.be.within(1, 2);
      expect(infos[0]).to.not.have.property('ehlo'); // a pool's connections are its own
    });
  });
});
