import { expect } from 'chai';
import nodemailer, { type SendMailOptions, type SentMessageInfo } from 'nodemailer';
import type { SMTPServerOptions } from 'smtp-server';
import { SmtpError } from '../../lib/errors';
import { RxSmtpTransportError, type RxSmtpSentMessageInfo, type RxSmtpTransport, rxSmtpTransport } from '../../lib/nodemailer';
import { activeHandles, checkLeaks, expectNoLeaks } from '../fixtures/handles';
import { PASSWORD, type SmtpServerFixture, USER, startSmtpServer } from '../fixtures/smtp-server';

/** 3 KiB of every byte value: base64 in the message, so any mangling shows. */
const ATTACHMENT = Buffer.from(Array.from({ length: 3 * 1024 }, (_, i) => (i * 7) % 256));

/** A message whose every generated part is fixed, so that two builds of it are the same bytes. */
const message = (overrides: SendMailOptions = {}): SendMailOptions => ({
  from: 'Alice <alice@example.test>',
  to: 'Bob <bob@example.test>',
  cc: 'carol@example.test',
  subject: 'Report, with an attachment',
  text: 'Hello Bob,\r\n.a line starting with a dot\r\nsee the attachment.\r\n',
  html: '<p>Hello Bob,</p><p>café ☃</p>',
  attachments: [{ filename: 'bytes.bin', content: ATTACHMENT, contentType: 'application/octet-stream' }],
  date: new Date('2026-11-29T01:02:03Z'),
  messageId: '<fixed.1@example.test>',
  baseBoundary: 'fixedboundary',
  ...overrides,
});

/** The bytes nodemailer itself builds for a message, through its own stream transport. */
async function built(options: SendMailOptions): Promise<Buffer> {
  const info = await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail(options);
  return info.message as Buffer;
}

/** What sendMail rejects with: nodemailer's shape, rx-smtp's SmtpError as its cause; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<RxSmtpTransportError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(RxSmtpTransportError);
    expect((err as RxSmtpTransportError).cause).to.be.instanceOf(SmtpError);
    return err as RxSmtpTransportError;
  }
  throw new Error('expected sendMail to fail, but it succeeded');
}

describe('nodemailer/transport', () => {
  let server: SmtpServerFixture | undefined;
  let transport: RxSmtpTransport | undefined;
  afterEach(async () => {
    await transport?.close();
    await server?.close();
    server = transport = undefined;
  });
  checkLeaks();

  async function start(serverOptions: SMTPServerOptions = {}, transportOptions: { username?: string; password?: string } = {}) {
    server = await startSmtpServer(serverOptions);
    transport = rxSmtpTransport({ server: { host: '127.0.0.1', port: server.port }, tls: 'none', allowInsecureAuth: true, ...transportOptions });
    return nodemailer.createTransport(transport);
  }

  it('delivers a message with an attachment byte for byte as nodemailer builds it', async () => {
    const transporter = await start();
    const info = await transporter.sendMail(message());
    const expected = await built(message());
    expect(server!.messages).to.have.length(1);
    expect(server!.messages[0]!.raw.equals(expected), 'the delivered bytes differ from what nodemailer built').to.equal(true);
    expect(expected.toString('latin1')).to.contain(ATTACHMENT.toString('base64').slice(0, 76));
    expect(server!.messages[0]!.from).to.equal('alice@example.test');
    expect(server!.messages[0]!.to).to.deep.equal(['bob@example.test', 'carol@example.test']);
    expect(info.messageId).to.equal('<fixed.1@example.test>');
    expect(info.envelope).to.deep.equal({ from: 'alice@example.test', to: ['bob@example.test', 'carol@example.test'] });
    expect(info.accepted).to.deep.equal(['bob@example.test', 'carol@example.test']);
    expect(info.rejected).to.deep.equal([]);
    expect(info.response).to.match(/^250 .*Ok: queued/);
    expect(info.messageSize).to.equal(expected.length + 1 + '.\r\n'.length); // as nodemailer counts: one leading dot doubled, the final line
  });

  it('puts Bcc recipients in the envelope and not in the content, as nodemailer’s SMTP transport does', async () => {
    const transporter = await start();
    const info = await transporter.sendMail(message({ bcc: 'dave@example.test' }));
    expect(server!.messages[0]!.to).to.deep.equal(['bob@example.test', 'carol@example.test', 'dave@example.test']);
    expect(server!.messages[0]!.raw.toString('latin1')).not.to.match(/^bcc:/im);
    expect(info.accepted).to.include('dave@example.test');
  });

  it('passes nodemailer’s DSN options, in its spellings, to MAIL FROM and RCPT TO', async () => {
    const transporter = await start({ hideDSN: false });
    await transporter.sendMail(message({ cc: [], dsn: { id: 'batch-17', return: 'headers', notify: 'success, failure', recipient: 'bob@example.test' } }));
    const { envelope } = server!.messages[0]!;
    expect(envelope.dsn).to.deep.include({ ret: 'HDRS', envid: 'batch-17' });
    expect(envelope.rcptTo[0]!.dsn).to.deep.include({ notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;bob@example.test' });
  });

  it('the info is assignable to nodemailer’s SentMessageInfo', async () => {
    const transporter = await start();
    const info: SentMessageInfo = await transporter.sendMail(message());
    const ours: RxSmtpSentMessageInfo = await transporter.sendMail(message({ messageId: '<fixed.2@example.test>' }));
    expect([info.messageId, ours.messageId]).to.deep.equal(['<fixed.1@example.test>', '<fixed.2@example.test>']);
  });

  it('sends concurrent sendMail calls over one connection, each exactly once', async () => {
    const transporter = await start();
    const count = 20;
    const infos = await Promise.all(
      Array.from({ length: count }, (_, i) => transporter.sendMail(message({ subject: `number ${i}`, messageId: `<n${i}@example.test>` }))),
    );
    expect(infos.map((info) => info.messageId)).to.deep.equal(Array.from({ length: count }, (_, i) => `<n${i}@example.test>`));
    const subjects = server!.messages.map((m) => /^Subject: (.*)$/m.exec(m.raw.toString('latin1'))![1]).sort();
    expect(subjects).to.deep.equal(Array.from({ length: count }, (_, i) => `number ${i}`).sort());
    expect(server!.connections).to.equal(1);
  });

  it('lists refused recipients in info.rejected, each with nodemailer’s error, the SmtpError its cause', async () => {
    const transporter = await start({
      onRcptTo: (address, _session, callback) =>
        address.address === 'carol@example.test'
          ? callback(Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 }))
          : callback(),
    });
    const info = await transporter.sendMail(message());
    expect(info.accepted).to.deep.equal(['bob@example.test']);
    expect(info.rejected).to.deep.equal(['carol@example.test']);
    expect(info.rejectedErrors).to.have.length(1);
    const [refused] = info.rejectedErrors!;
    expect(refused).to.be.instanceOf(RxSmtpTransportError);
    expect(refused).to.include({ code: 'EENVELOPE', recipient: 'carol@example.test', responseCode: 550, command: 'RCPT TO' });
    expect(refused!.cause.code).to.equal('ESERVERPERM');
    expect(refused!.cause.reply?.code).to.equal(550);
    expect(server!.messages[0]!.to).to.deep.equal(['bob@example.test']);
  });

  it('passes a refusal of the content to the callback as nodemailer’s EMESSAGE, the SmtpError its cause', async () => {
    const transporter = await start({
      onData: (stream, _session, callback) => {
        stream.resume();
        stream.on('end', () => callback(Object.assign(new Error('4.3.0 try again later'), { responseCode: 451 })));
      },
    });
    const error = await new Promise<unknown>((resolve) => transporter.sendMail(message(), (err) => resolve(err)));
    expect(error).to.be.instanceOf(RxSmtpTransportError);
    expect(error).to.include({ code: 'EMESSAGE', responseCode: 451, command: 'DATA' });
    expect((error as RxSmtpTransportError).cause.code).to.equal('ESERVERTEMP');
  });

  it('fails with EENVELOPE when every recipient is refused, and goes on with the next message', async () => {
    const transporter = await start({
      onRcptTo: (address, _session, callback) =>
        address.address.startsWith('nobody') ? callback(Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 })) : callback(),
    });
    const [refused, delivered] = await Promise.allSettled([
      transporter.sendMail(message({ to: 'nobody@example.test', cc: [] })),
      transporter.sendMail(message({ messageId: '<fixed.2@example.test>' })),
    ]);
    expect(refused.status).to.equal('rejected');
    const error = (refused as PromiseRejectedResult).reason as RxSmtpTransportError;
    expect(error).to.be.instanceOf(RxSmtpTransportError);
    expect(error.code).to.equal('EENVELOPE');
    expect(error.cause.code).to.equal('ESERVERPERM');
    expect(delivered.status).to.equal('fulfilled');
    expect(server!.messages).to.have.length(1);
  });

  it('fails a message with the connection’s error code when the server cannot be reached', async () => {
    const closed = await startSmtpServer();
    const port = closed.port;
    await closed.close();
    transport = rxSmtpTransport({ server: { host: '127.0.0.1', port }, tls: 'none' });
    const error = await rejection(nodemailer.createTransport(transport).sendMail(message()));
    expect(error).to.include({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' });
    expect(error.cause.code).to.equal('ECONNREFUSED');
  });

  it('verify() connects and logs in, and refuses a wrong password with EAUTH', async () => {
    const good = await start({}, { username: USER, password: PASSWORD });
    expect(await good.verify()).to.equal(true);
    await transport!.close();
    const bad = nodemailer.createTransport(
      (transport = rxSmtpTransport({ server: { host: '127.0.0.1', port: server!.port }, tls: 'none', allowInsecureAuth: true, username: USER, password: 'wrong' })),
    );
    const error = await rejection(bad.verify());
    expect(error).to.include({ code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' });
    expect(error.cause.code).to.equal('ESERVERPERM');
  });

  it('verify() and a first message at once share one connect (no EINPROGRESS)', async () => {
    const transporter = await start();
    const [ok, info] = await Promise.all([transporter.verify(), transporter.sendMail(message())]);
    expect(ok).to.equal(true);
    expect(info.accepted).to.have.length(2);
    expect(server!.connections).to.equal(1);
  });

  it('close() sends what was given, QUITs, leaves no handles, and refuses later messages (ECONNECTION, the cause EPERM)', async () => {
    const transporter = await start();
    // After the first await: mocha's own timer for this test is running and counted in the baseline.
    const before = activeHandles();
    const sending = [transporter.sendMail(message()), transporter.sendMail(message({ messageId: '<fixed.2@example.test>' }))];
    const closed = transport!.close();
    expect(transporter.isIdle()).to.equal(false);
    await Promise.all(sending);
    await closed;
    expect(server!.messages).to.have.length(2);
    const error = await rejection(transporter.sendMail(message()));
    expect(error.code).to.equal('ECONNECTION');
    expect(error.cause.code).to.equal('EPERM');
    await expectNoLeaks(before);
  });

  it('throws EINVAL for a missing server or an unknown option', () => {
    for (const options of [{}, { server: 'smtp://127.0.0.1:25', nonsense: true }, { server: 'smtp://127.0.0.1:25', idleTimeout: -1 }]) {
      try {
        rxSmtpTransport(options as never);
        expect.fail(`accepted ${JSON.stringify(options)}`);
      } catch (err) {
        expect(err).to.be.instanceOf(SmtpError);
        expect((err as SmtpError).code).to.equal('EINVAL');
      }
    }
  });
});
