import * as net from 'node:net';
import { expect } from 'chai';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import sinon from 'sinon';
import type { SMTPServerOptions } from 'smtp-server';
import { RxSmtpTransportError, rxSmtpTransport } from '../../lib/nodemailer';
import { checkLeaks } from '../fixtures/handles';
import { closedPort, turns } from '../fixtures/observe';
import { PASSWORD, type SmtpServerFixture, TEST_CA, USER, startSmtpServer } from '../fixtures/smtp-server';

/**
 * The same small nodemailer app, run once with nodemailer's own SMTP transport and once with
 * rx-smtp's, given the very same options object: what it gets back (`info`, or the error) must
 * match field by field. Timings differ by nature and are compared by type.
 */

/** What a typical app does: send, and keep whatever came back. */
async function app(transporter: Transporter, mail: SendMailOptions): Promise<{ info?: unknown; error?: unknown }> {
  try {
    return { info: await transporter.sendMail(mail) };
  } catch (error) {
    return { error };
  } finally {
    transporter.close();
  }
}

const MAIL: SendMailOptions = {
  from: 'Alice <alice@example.test>',
  to: 'Bob <bob@example.test>, carol@example.test',
  subject: 'Quarterly report',
  text: 'Hello,\n.a line that starts with a dot\nbye\n',
  messageId: '<fixed.1@example.test>',
  date: new Date('2026-11-29T01:02:03Z'),
};

/** Fields that vary from run to run by nature: compared by type. */
const BY_TYPE = new Set(['envelopeTime', 'messageTime']);
/** rx-smtp's additions to nodemailer's info: its parsed reply and the queue id. */
const RX_ONLY_INFO = new Set(['reply', 'queueId']);

/** A comparable picture of an info or an error: own fields (and an error's message), recursively. */
function shape(value: unknown, extra: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(value)) return value.map((v) => shape(v, extra));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  if (value instanceof Error) Object.assign(out, { name: value.name, message: value.message });
  for (const [key, field] of Object.entries(value)) {
    if (key === 'stack' || key === 'cause' || extra.has(key)) continue;
    out[key] = BY_TYPE.has(key) ? typeof field : shape(field, extra);
  }
  return out;
}

describe('nodemailer/transport as a drop-in: the same app, nodemailer’s transport and rx-smtp’s', () => {
  let server: SmtpServerFixture | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  checkLeaks();

  /** nodemailer's options for the test server: STARTTLS with the test CA, alice's account. */
  const options = (port: number, more: Record<string, unknown> = {}) => ({
    host: '127.0.0.1',
    port,
    auth: { user: USER, pass: PASSWORD },
    tls: { ca: TEST_CA },
    ...more,
  });

  /** Runs the app through both transports with the same options; returns both results. */
  async function both(mail: SendMailOptions, opts: Record<string, unknown>) {
    const theirs = await app(nodemailer.createTransport(opts as never), mail);
    const ours = await app(nodemailer.createTransport(rxSmtpTransport(opts as never)), mail);
    return { theirs, ours };
  }

  async function serve(serverOptions: SMTPServerOptions = {}): Promise<number> {
    server = await startSmtpServer(serverOptions);
    return server.port;
  }

  const refuse = (code: number, text: string) => Object.assign(new Error(text), { responseCode: code });

  it('gives the same info for a message one of whose recipients is refused', async () => {
    const port = await serve({ onRcptTo: (a, _s, cb) => cb(a.address === 'carol@example.test' ? refuse(550, '5.1.1 no such user') : null) });
    const { theirs, ours } = await both(MAIL, options(port));

    expect(theirs.error, String(theirs.error)).to.equal(undefined);
    expect(ours.error, String(ours.error)).to.equal(undefined);
    expect(shape(ours.info, RX_ONLY_INFO)).to.deep.equal(shape(theirs.info));
    expect(ours.info).to.include({ envelopeTime: (ours.info as { envelopeTime: number }).envelopeTime }).and.to.have.property('messageTime').that.is.a('number');
    expect(server!.messages.map((m) => m.raw.toString('latin1'))).to.have.length(2);
    expect(server!.messages[1]!.raw.equals(server!.messages[0]!.raw)).to.equal(true);
  });

  const failures: [string, SMTPServerOptions, Record<string, unknown>, SendMailOptions][] = [
    ['a wrong password', {}, { auth: { user: USER, pass: 'wrong' } }, MAIL],
    ['every recipient refused', { onRcptTo: (_a, _s, cb) => cb(refuse(550, '5.1.1 no such user')) }, {}, { ...MAIL, to: 'bob@example.test' }],
    ['the sender refused', { onMailFrom: (_a, _s, cb) => cb(refuse(553, '5.7.1 sender not allowed')) }, {}, MAIL],
    ['the content refused', { onData: (stream, _s, cb) => stream.on('end', () => cb(refuse(554, '5.6.0 content rejected'))).resume() }, {}, MAIL],
    ['a temporary refusal of the content', { onData: (stream, _s, cb) => stream.on('end', () => cb(refuse(451, '4.3.0 try later'))).resume() }, {}, MAIL],
    // nodemailer says ESTREAM (command API): the file system's error is the message's, not the connection's.
    ['an attachment that cannot be read', {}, {}, { ...MAIL, attachments: [{ filename: 'report.pdf', path: '/nonexistent/report.pdf' }] }],
  ];
  for (const [what, serverOptions, more, mail] of failures) {
    it(`gives the same error for ${what}`, async () => {
      const port = await serve(serverOptions);
      const { theirs, ours } = await both(mail, options(port, more));

      expect(theirs.error, 'nodemailer sent it').to.be.instanceOf(Error);
      expect(ours.error).to.be.instanceOf(RxSmtpTransportError);
      expect(shape(ours.error)).to.deep.equal(shape(theirs.error));
    });
  }

  it('gives the same error when every recipient is refused, each with a reply of its own', async () => {
    const port = await serve({ onRcptTo: (a, _s, cb) => cb(a.address === 'bob@example.test' ? refuse(450, '4.2.1 mailbox busy') : refuse(550, '5.1.1 no such user')) });
    const { theirs, ours } = await both(MAIL, options(port));

    expect(ours.error).to.be.instanceOf(RxSmtpTransportError);
    expect(shape(ours.error)).to.deep.equal(shape(theirs.error));
  });

  it('gives the same error when nothing listens (ESOCKET, originalCode ECONNREFUSED, errno, address, port)', async () => {
    const { theirs, ours } = await both(MAIL, options(await closedPort()));

    expect(ours.error).to.be.instanceOf(RxSmtpTransportError);
    expect(shape(ours.error)).to.deep.equal(shape(theirs.error));
    expect(ours.error).to.include({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' });
  });

  it('gives the same error when the server never greets (ETIMEDOUT, GREETING_TIMEOUT), within greetingTimeout', async () => {
    const silent = net.createServer(() => {}); // accepts, says nothing
    const sockets = new Set<net.Socket>();
    silent.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const run = async (make: () => Transporter) => {
        const connections = sockets.size;
        const result = app(make(), MAIL);
        while (sockets.size === connections) await turns();
        await turns(5); // the client side sees its connect, and starts waiting for the greeting
        clock.tick(5_000);
        return result;
      };
      const opts = options(port, { greetingTimeout: 5_000 });
      const theirs = await run(() => nodemailer.createTransport(opts as never));
      const ours = await run(() => nodemailer.createTransport(rxSmtpTransport(opts as never)));

      expect(ours.error).to.be.instanceOf(RxSmtpTransportError);
      expect(shape(ours.error)).to.deep.equal(shape(theirs.error));
      expect(ours.error).to.include({ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT' });
    } finally {
      clock.restore();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('sends dsn.recipient as every recipient’s ORCPT, as nodemailer does', async () => {
    const port = await serve({ hideDSN: false });
    const mail = { ...MAIL, dsn: { notify: 'failure', recipient: 'original@example.test' } };
    await both(mail, options(port));

    const orcpts = server!.messages.map((m) => m.envelope.rcptTo.map((r) => r.dsn?.orcpt));
    expect(orcpts).to.deep.equal([
      ['rfc822;original@example.test', 'rfc822;original@example.test'],
      ['rfc822;original@example.test', 'rfc822;original@example.test'],
    ]);
  });
});
