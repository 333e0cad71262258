import { once } from 'node:events';
import { expect } from 'chai';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import sinon from 'sinon';
import type { SMTPServerOptions } from 'smtp-server';
import { lastValueFrom } from 'rxjs';
import { createPool } from '../../lib/pool';
import { type MailSender, RxSmtpTransportError, type RxSmtpTransport, rxSmtpTransport } from '../../lib/nodemailer';
import type { SmtpSession } from '../../lib/session';
import { activeHandles, checkLeaks, expectNoLeaks } from '../fixtures/handles';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { connectTo } from '../send/helpers';

const message = (i: number, overrides: SendMailOptions = {}): SendMailOptions => ({
  from: 'alice@example.test',
  to: `rcpt${i}@example.test`,
  subject: `number ${i}`,
  text: `body ${i}\r\n`,
  ...overrides,
});
const subjectsOf = (server: SmtpServerFixture): string[] =>
  server.messages.map((m) => /^Subject: (.*)$/m.exec(m.raw.toString('latin1'))![1]!).sort();
const numbers = (count: number): string[] => Array.from({ length: count }, (_, i) => `number ${i}`).sort();

describe('nodemailer/transport with other senders, idleness and failures', () => {
  let server: SmtpServerFixture | undefined;
  let session: SmtpSession | undefined;
  let transport: RxSmtpTransport | undefined;
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    clock?.restore();
    await transport?.close();
    session?.dispose();
    await server?.close();
    server = session = transport = clock = undefined;
  });
  checkLeaks();

  async function startServer(options: SMTPServerOptions = {}): Promise<SmtpServerFixture> {
    server = await startSmtpServer(options);
    return server;
  }

  describe('a connected session of the caller', () => {
    it('gets the concurrent messages in batches of sendAll (pipelined), and stays connected after close()', async () => {
      const { port } = await startServer();
      session = await connectTo(port);
      const sendAll = sinon.spy(session, 'sendAll');
      const transporter = nodemailer.createTransport((transport = rxSmtpTransport(session)));
      await Promise.all(Array.from({ length: 10 }, (_, i) => transporter.sendMail(message(i))));
      expect(subjectsOf(server!)).to.deep.equal(numbers(10));
      expect(sendAll.callCount).to.be.within(1, 2); // the first message alone, then the nine that queued behind it
      await transport.close();
      expect(session.state.status).to.equal('connected');
      expect(server!.connections).to.equal(1);
    });

    it('sends through a pool of the caller: every message over at most maxConnections connections', async () => {
      const { port } = await startServer();
      const pool = createPool({ server: { host: '127.0.0.1', port }, tls: 'none', maxConnections: 2, idleTimeout: 50 });
      const transporter = nodemailer.createTransport((transport = rxSmtpTransport(pool)));
      const infos = await Promise.all(Array.from({ length: 12 }, (_, i) => transporter.sendMail(message(i))));
      expect(infos.map((info) => info.accepted)).to.deep.equal(Array.from({ length: 12 }, (_, i) => [`rcpt${i}@example.test`]));
      expect(subjectsOf(server!)).to.deep.equal(numbers(12));
      expect(server!.connections).to.be.within(1, 2);
      await lastValueFrom(pool.close(), { defaultValue: undefined });
    });

    it('sends one message after another through a sender with send() alone: no EINPROGRESS', async () => {
      const { port } = await startServer();
      const connected = (session = await connectTo(port));
      const send = sinon.spy((mail: Parameters<MailSender['send']>[0]) => connected.send(mail));
      const transporter = nodemailer.createTransport((transport = rxSmtpTransport({ send })));
      const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => transporter.sendMail(message(i))));
      expect(results.map((r) => r.status)).to.deep.equal(Array(5).fill('fulfilled'));
      expect(send.callCount).to.equal(5);
      expect(subjectsOf(server!)).to.deep.equal(numbers(5));
    });

    it('passes the session’s own refusal on: ECONNECTION, the cause EPERM, when it is not connected', async () => {
      await startServer();
      session = await connectTo(server!.port);
      await new Promise<void>((resolve) => session!.quit().subscribe({ complete: resolve }));
      const transporter = nodemailer.createTransport((transport = rxSmtpTransport(session)));
      const error = await transporter.sendMail(message(0)).then(
        () => expect.fail('sent through a closed session'),
        (err: unknown) => err as RxSmtpTransportError,
      );
      expect(error).to.be.instanceOf(RxSmtpTransportError);
      expect(error.code).to.equal('ECONNECTION');
      expect(error.cause.code).to.equal('EPERM');
    });
  });

  describe('the transport’s own session', () => {
    it('QUITs after idleTimeout ms without mail, and connects again for the next message', async () => {
      const { port } = await startServer();
      const before = activeHandles();
      clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] }); // RxJS's timer; smtp-server's own timeouts stay real
      const transporter = nodemailer.createTransport((transport = rxSmtpTransport({ server: { host: '127.0.0.1', port }, tls: 'none', idleTimeout: 5_000 })));
      const idle = once(transport, 'idle'); // the batch has ended and the idle timer is set
      await transporter.sendMail(message(0));
      await idle;
      clock.tick(4_999);
      expect(activeHandles().TCPSocketWrap).to.be.greaterThan(before.TCPSocketWrap); // still connected
      clock.tick(1);
      await expectNoLeaks(before); // the QUIT went out and both ends closed, without close()
      await transporter.sendMail(message(1));
      expect(server!.connections).to.equal(2);
      expect(subjectsOf(server!)).to.deep.equal(numbers(2));
    });

    it('sends again, on a fresh connection, a queued message whose connection the server closed (421)', async () => {
      let data = 0;
      const received: string[] = [];
      let allQueued!: () => void;
      const queued = new Promise<void>((resolve) => (allQueued = resolve));
      await startServer({
        onData: (stream, _session, callback) => {
          const n = data++;
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            received.push(/^Subject: (.*)$/m.exec(Buffer.concat(chunks).toString('latin1'))![1]!);
            // The first message's reply waits until the other two are queued, so they go out as one
            // pipelined batch; the second is refused with 421, after which smtp-server closes the connection.
            if (n === 0) void queued.then(() => callback(null, 'Ok'));
            else if (n === 1) callback(Object.assign(new Error('4.3.2 shutting down'), { responseCode: 421 }));
            else callback(null, 'Ok');
          });
        },
      });
      transport = rxSmtpTransport({ server: { host: '127.0.0.1', port: server!.port }, tls: 'none' });
      const send = transport.send.bind(transport);
      let calls = 0;
      transport.send = (mail, callback) => {
        send(mail, callback);
        if (++calls === 3) allQueued();
      };
      const transporter = nodemailer.createTransport(transport);
      const [first, second, third] = await Promise.allSettled([0, 1, 2].map((i) => transporter.sendMail(message(i))));
      expect(first.status).to.equal('fulfilled');
      expect(second.status).to.equal('rejected');
      const refused = (second as PromiseRejectedResult).reason as RxSmtpTransportError;
      expect(refused).to.be.instanceOf(RxSmtpTransportError);
      expect(refused).to.include({ code: 'EMESSAGE', responseCode: 421 });
      expect(refused.cause.reply?.code).to.equal(421);
      expect(third.status, String((third as PromiseRejectedResult).reason)).to.equal('fulfilled');
      expect(received).to.deep.equal(['number 0', 'number 1', 'number 2']); // 1 was refused, 2 came on the new connection
      expect(server!.connections).to.equal(2);
    });
  });
});
