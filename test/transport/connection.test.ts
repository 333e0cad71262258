import { once } from 'node:events';
import * as net from 'node:net';
import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, tap, toArray } from 'rxjs';
import * as sinon from 'sinon';
import { SmtpError } from '../../lib/errors';
import type { SmtpReply } from '../../lib/reply/reply';
import { resolveReplyLimits } from '../../lib/reply/reply-parser';
import { Connection } from '../../lib/transport/connection';
import { openSocket } from '../../lib/transport/socket';
import { connection, drain, errorOf, fakeTime, gate, openConnection, tracked, turns } from '../fixtures/connection';
import { checkLeaks } from '../fixtures/handles';
import { type ScriptedServer, type Step, scriptedServer } from '../fixtures/scripted-server';

const TIMEOUT_MS = 5_000;
const WATCHED_EVENTS = ['data', 'end', 'close', 'error', 'connect', 'drain'] as const;
const codes = (replies: SmtpReply[]): number[] => replies.map((r) => r.code);

/** The error a connection ended with, once it has ended. */
async function failureOf(c: Connection): Promise<SmtpError> {
  await lastValueFrom(c.ended$, { defaultValue: undefined });
  return c.closedError();
}

describe('transport/connection', () => {
  let server: ScriptedServer | undefined;
  let conn: Connection | undefined;
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    conn?.destroy();
    clock?.restore();
    sinon.restore();
    await server?.close();
    server = conn = clock = undefined;
  });
  checkLeaks();

  async function connectedTo(script: Step[]): Promise<Connection> {
    server = await scriptedServer(script);
    return (conn = await openConnection(server.port));
  }

  /** Fake time first, then a connection: every timer of it is fake. */
  async function connectedWithFakeTime(script: Step[]): Promise<Connection> {
    server = await scriptedServer(script);
    clock = fakeTime();
    conn = connection(server.port, TIMEOUT_MS);
    await drain(conn.ready$);
    return conn;
  }

  describe('matching replies to commands', () => {
    it('gives pipelined commands their replies in order, all three from one chunk', async () => {
      const c = await connectedTo([
        { expect: 'MAIL FROM:<a@b.test>' },
        { expect: 'RCPT TO:<c@d.test>' },
        { expect: 'DATA', send: '250 a\r\n251 b\r\n354 c\r\n' },
        { stall: true },
      ]);
      const all = firstValueFrom(c.replies$.pipe(toArray()));
      const replies = c.send([{ line: 'MAIL FROM:<a@b.test>' }, { line: 'RCPT TO:<c@d.test>' }, { line: 'DATA' }]);
      expect(await drain(replies)).to.deep.equal([
        { code: 250, lines: ['a'] },
        { code: 251, lines: ['b'] },
        { code: 354, lines: ['c'] },
      ]);
      c.destroy();
      expect(codes(await all)).to.deep.equal([250, 251, 354]);
    });

    it('reads a reply split across socket reads, and answers only once its last line is in', async () => {
      const second = gate();
      const third = gate();
      const c = await connectedTo([
        { expect: 'NOOP', send: '250-first li' },
        second.step,
        { send: 'ne\r\n250 la' },
        third.step,
        { send: 'st\r\n' },
        { stall: true },
      ]);
      const reply = tracked(drain(c.request({ line: 'NOOP' })));
      await once(c.currentSocket, 'data');
      second.open();
      await once(c.currentSocket, 'data');
      await turns(2);
      expect(reply.settled).to.equal(false);
      third.open();
      expect(await reply.promise).to.deep.equal([{ code: 250, lines: ['first line', 'last'] }]);
    });

    it('takes a reply beyond the commands written when its chunk arrived as a reply to nothing: ESERVERSYNC', async () => {
      const c = await connectedTo([{ expect: 'NOOP', send: '250 ok\r\n250 extra\r\n' }, { stall: true }]);
      expect(await drain(c.request({ line: 'NOOP' }))).to.deep.equal([{ code: 250, lines: ['ok'] }]);
      const error = await failureOf(c);
      expect(error).to.be.instanceOf(SmtpError);
      expect(error.code).to.equal('ESERVERSYNC');
      expect(error.message).to.equal('reply to no command: 250 extra');
      expect(c.isClosed).to.equal(true);
    });

    it('takes an unasked 421 as the server closing: ESERVERTEMP with the reply', async () => {
      const c = await connectedTo([{ send: '421 4.3.2 going down\r\n' }, { stall: true }]);
      const error = await failureOf(c);
      expect(error.code).to.equal('ESERVERTEMP');
      expect(error.reply?.code).to.equal(421);
    });

    it('read() waits for a reply without writing anything', async () => {
      const c = await connectedTo([{ send: '220 hi\r\n' }, { stall: true }]);
      expect(await drain(c.read())).to.deep.equal([{ code: 220, lines: ['hi'] }]);
      expect(server!.lines).to.deep.equal([]);
    });

    it('request() is cold: nothing is written until it is subscribed', async () => {
      const c = await connectedTo([{ expect: 'NOOP', send: '250 ok\r\n' }, { stall: true }]);
      c.request({ line: 'RSET' });
      await drain(c.request({ line: 'NOOP' }));
      expect(server!.lines).to.deep.equal(['NOOP']);
      expect(server!.failures).to.deep.equal([]);
    });
  });

  describe('the reply timer', () => {
    it('covers the whole reply: a server trickling lines does not extend it', async () => {
      const second = gate();
      const third = gate();
      const c = await connectedWithFakeTime([
        { expect: 'NOOP', send: '250-one\r\n' },
        second.step,
        { send: '250-two\r\n' },
        third.step,
        { send: '250-three\r\n' },
        { stall: true },
      ]);
      const reply = tracked(errorOf(c.request({ line: 'NOOP' })));
      await once(c.currentSocket, 'data');
      await clock!.tickAsync(TIMEOUT_MS / 2);
      second.open();
      await once(c.currentSocket, 'data');
      await clock!.tickAsync(TIMEOUT_MS / 2 - 1);
      third.open();
      await once(c.currentSocket, 'data');
      expect(reply.settled).to.equal(false);
      await clock!.tickAsync(1);
      const error = await reply.promise;
      expect(error.code).to.equal('ETIMEDOUT');
      expect(error.command).to.equal('NOOP');
      expect(error.message).to.equal(`no complete reply to NOOP within ${TIMEOUT_MS} ms`);
      expect(c.isClosed).to.equal(true);
    });

    it('gives each pipelined command the full timeout from when it became the oldest', async () => {
      const answer = gate();
      const c = await connectedWithFakeTime([{ expect: 'NOOP' }, { expect: 'RSET' }, answer.step, { send: '250 noop\r\n' }, { stall: true }]);
      const replies: SmtpReply[] = [];
      const rsetOutcome = tracked(errorOf(c.send([{ line: 'NOOP' }, { line: 'RSET' }]).pipe(tap((reply) => replies.push(reply)))));
      await server!.received('RSET');
      await clock!.tickAsync(TIMEOUT_MS - 1);
      answer.open();
      await once(c.currentSocket, 'data');
      expect(replies).to.deep.equal([{ code: 250, lines: ['noop'] }]);
      await clock!.tickAsync(TIMEOUT_MS - 1);
      expect(rsetOutcome.settled).to.equal(false);
      await clock!.tickAsync(1);
      const error = await rsetOutcome.promise;
      expect(error.code).to.equal('ETIMEDOUT');
      expect(error.command).to.equal('RSET');
    });

    it('runs no timer while nothing is asked', async () => {
      const c = await connectedWithFakeTime([{ expect: 'NOOP', send: '250 ok\r\n' }, { stall: true }]);
      expect(clock!.countTimers()).to.equal(0);
      await drain(c.request({ line: 'NOOP' }));
      expect(clock!.countTimers()).to.equal(0);
      await clock!.tickAsync(10 * TIMEOUT_MS);
      expect(c.isClosed).to.equal(false);
    });
  });

  describe('the end of the connection', () => {
    it('ready$ read after the socket was ready, even after the end, emits once and completes; read after an end before it, errors', async () => {
      const c = await connectedTo([{ stall: true }]);
      expect(await drain(c.ready$)).to.deep.equal([undefined]);
      c.destroy();
      expect(await drain(c.ready$)).to.deep.equal([undefined]);
      const never = connection(server!.port, TIMEOUT_MS);
      never.destroy();
      expect((await errorOf(never.ready$)).code).to.equal('ESHUTDOWN');
    });

    it('fails every waiting command with one ESHUTDOWN naming the oldest when the server closes', async () => {
      const c = await connectedTo([{ expect: 'NOOP' }, { expect: 'RSET' }, { close: true }]);
      const [first, second] = await Promise.all([errorOf(c.send([{ line: 'NOOP' }, { line: 'RSET' }])), errorOf(c.request({ line: 'QUIT' }))]);
      expect(first.code).to.equal('ESHUTDOWN');
      expect(first.command).to.equal('NOOP');
      expect(first.message).to.equal('the server closed the connection while waiting for the reply to NOOP');
      expect(second).to.equal(first);
      expect(await failureOf(c)).to.equal(first);
    });

    it('fails every later request with the error it died of, writing nothing', async () => {
      const c = await connectedTo([{ send: 'garbage\r\n' }, { stall: true }]);
      const fatal = await failureOf(c);
      expect(fatal.code).to.equal('ESERVERSYNC');
      expect(await errorOf(c.request({ line: 'NOOP' }))).to.equal(fatal);
      expect(await errorOf(c.send([{ line: 'RSET' }, { raw: Buffer.from('x') }, { reply: '.' }]))).to.equal(fatal);
      expect(c.writeRaw(Buffer.from('x'))).to.equal(false);
      expect(server!.lines).to.deep.equal([]);
    });

    it('destroy(): waiters get ESHUTDOWN, ended$ emits, replies$ and transcript$ complete', async () => {
      const c = await connectedTo([{ stall: true }]);
      const ended = firstValueFrom(c.ended$.pipe(toArray()));
      const replies = firstValueFrom(c.replies$.pipe(toArray()));
      const transcript = firstValueFrom(c.transcript$.pipe(toArray()));
      const waiting = errorOf(c.request({ line: 'NOOP' }));
      c.destroy();
      c.destroy(); // idempotent
      expect((await waiting).code).to.equal('ESHUTDOWN');
      expect(await ended).to.have.length(1);
      expect(await replies).to.deep.equal([]);
      expect((await transcript).map((t) => t.line)).to.deep.equal(['NOOP']);
      expect(c.isClosed).to.equal(true);
      expect(c.currentSocket.destroyed).to.equal(true);
    });

    for (const how of ['destroy()', 'the server closing'] as const) {
      it(`leaves no timer and no listener of its own after ${how}`, async () => {
        server = await scriptedServer(how === 'destroy()' ? [{ stall: true }] : [{ expect: 'NOOP' }, { close: true }]);
        clock = fakeTime();
        const { socket, readyEvent } = openSocket({ host: '127.0.0.1', port: server.port, implicitTls: false }, undefined);
        const baseline = Object.fromEntries(WATCHED_EVENTS.map((event) => [event, socket.listenerCount(event)]));
        const c = (conn = new Connection(socket, readyEvent, { timeout: TIMEOUT_MS, limits: resolveReplyLimits() }));
        await drain(c.ready$);
        const waiting = errorOf(c.request({ line: 'NOOP' }));
        expect(clock.countTimers()).to.equal(1);
        if (how === 'destroy()') c.destroy();
        await waiting;
        expect(clock.countTimers()).to.equal(0);
        if (!socket.closed) await once(socket, 'close');
        for (const event of WATCHED_EVENTS) {
          // One no-op 'error' listener stays on purpose: a destroyed socket may still report a late write error.
          expect(socket.listenerCount(event), `'${event}' listeners`).to.be.at.most(baseline[event]! + (event === 'error' ? 1 : 0));
        }
      });
    }
  });

  describe('writing', () => {
    it('writes a batch of commands as one string in one socket write (cork): one read on the server', async () => {
      const c = await connectedTo([
        { expect: 'MAIL FROM:<a@b.test>', send: '250 ok\r\n' },
        { expect: 'RCPT TO:<c@d.test>', send: '250 ok\r\n' },
        { expect: 'DATA', send: '354 go\r\n' },
        { stall: true },
      ]);
      // The server runs in this process and cannot read between two synchronous writes, so its reads
      // would look the same without cork; the stream's own calls show whether it was one write.
      const socket = c.currentSocket;
      const stream = socket as unknown as { _write: unknown; _writev: unknown };
      const calls = sinon.spy(socket, 'write');
      const single = sinon.spy(stream, '_write');
      const vector = sinon.spy(stream, '_writev');
      const replies = drain(c.send([{ line: 'MAIL FROM:<a@b.test>' }, { line: 'RCPT TO:<c@d.test>' }, { line: 'DATA' }]));
      expect(calls.args.map(([chunk]) => String(chunk))).to.deep.equal(['MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n']);
      // Corked until the next tick, when it leaves in one write.
      expect(single.callCount + vector.callCount).to.equal(0);
      await new Promise<void>((resolve) => process.nextTick(resolve));
      expect(single.callCount + vector.callCount).to.equal(1);
      await replies;
      expect(server!.reads).to.deep.equal([['MAIL FROM:<a@b.test>', 'RCPT TO:<c@d.test>', 'DATA']]);
    });

    it('writes raw bytes and reply placeholders in the same write, one Observable per expected reply', async () => {
      const c = await connectedTo([
        { expect: 'BDAT 5 LAST' },
        { expectBytes: 5, send: '250 got 5\r\n' },
        { expect: '.', send: '250 queued\r\n' },
        { expect: 'NOOP', send: '250 ok\r\n' },
        { stall: true },
      ]);
      const transcript = firstValueFrom(c.transcript$.pipe(toArray()));
      const replies = c.send([
        { line: 'BDAT 5 LAST' },
        { raw: Buffer.from('hello') },
        { raw: Buffer.alloc(0) },
        { raw: Buffer.from('.\r\n') },
        { reply: '.' },
        { line: 'NOOP' },
      ]);
      expect(codes(await drain(replies))).to.deep.equal([250, 250, 250]);
      expect(server!.data.map(String)).to.deep.equal(['hello']);
      expect(server!.reads).to.deep.equal([['BDAT 5 LAST', '.', 'NOOP']]);
      c.destroy();
      expect((await transcript).map((t) => `${t.direction}: ${t.line}`)).to.deep.equal([
        'client: BDAT 5 LAST',
        'client: NOOP',
        'server: 250 got 5',
        'server: 250 queued',
        'server: 250 ok',
      ]);
    });

    it('writes made in one turn of the event loop leave in one read, even from separate calls', async () => {
      const c = await connectedTo([
        { expect: 'RSET', send: '250 a\r\n' },
        { expect: 'NOOP', send: '250 b\r\n' },
        { stall: true },
      ]);
      const first = drain(c.request({ line: 'RSET' }));
      const second = drain(c.request({ line: 'NOOP' }));
      await Promise.all([first, second]);
      expect(server!.reads).to.deep.equal([['RSET', 'NOOP']]);
    });

    it('a write made after the reply to the one before leaves on its own', async () => {
      const c = await connectedTo([{ expect: 'RSET', send: '250 a\r\n' }, { expect: 'NOOP', send: '250 b\r\n' }, { stall: true }]);
      await drain(c.request({ line: 'RSET' }));
      await drain(c.request({ line: 'NOOP' }));
      expect(server!.reads).to.deep.equal([['RSET'], ['NOOP']]);
    });
  });

  describe('drained()', () => {
    let sink: net.Server | undefined;
    let peer: net.Socket | undefined;
    afterEach(async () => {
      peer?.destroy();
      await new Promise<void>((resolve) => (sink === undefined ? resolve() : sink.close(() => resolve())));
      sink = peer = undefined;
    });

    /** A connection to a server that never reads, its buffers filled until the client's socket must wait. */
    async function congested(): Promise<Connection> {
      sink = net.createServer((socket) => {
        socket.pause();
        peer = socket;
      });
      await new Promise<void>((resolve) => sink!.listen(0, '127.0.0.1', resolve));
      clock = fakeTime();
      conn = connection((sink.address() as net.AddressInfo).port, TIMEOUT_MS);
      await drain(conn.ready$);
      const chunk = Buffer.alloc(1 << 20, 0x61);
      // Kernel buffers on loopback take some megabytes; past them the bytes stay in the socket.
      for (let i = 0; i < 256 && conn.currentSocket.writableLength === 0; i++) {
        conn.writeRaw(chunk);
        await turns(3);
      }
      expect(conn.congested).to.equal(true);
      return conn;
    }

    it('completes at once when the socket is not congested', async () => {
      const c = await connectedTo([{ stall: true }]);
      expect(c.congested).to.equal(false);
      let done = false;
      c.drained().subscribe({ complete: () => (done = true) });
      expect(done).to.equal(true);
    });

    it('completes on drain once the server reads again', async () => {
      const c = await congested();
      const ready = tracked(drain(c.drained()));
      await turns(3);
      expect(ready.settled).to.equal(false);
      peer!.resume();
      await ready.promise;
      expect(c.isClosed).to.equal(false);
    });

    it('fails the connection with ETIMEDOUT when the server reads nothing for the timeout', async () => {
      const c = await congested();
      const ready = tracked(errorOf(c.drained()));
      const failure = failureOf(c);
      await clock!.tickAsync(TIMEOUT_MS - 1);
      expect(ready.settled).to.equal(false);
      await clock!.tickAsync(1);
      const error = await ready.promise;
      expect(error).to.be.instanceOf(SmtpError);
      expect(error.code).to.equal('ETIMEDOUT');
      expect(error.message).to.equal(`the server read nothing for ${TIMEOUT_MS} ms`);
      expect(await failure).to.equal(error);
      expect(c.isClosed).to.equal(true);
      expect(clock!.countTimers()).to.equal(0);
    });

    it('errors with the error the connection died of', async () => {
      const c = await connectedTo([{ send: 'garbage\r\n' }, { stall: true }]);
      const fatal = await failureOf(c);
      expect(await errorOf(c.drained())).to.equal(fatal);
    });

    it('ends with the connection while waiting: destroy() while congested leaves nothing waiting', async () => {
      const c = await congested();
      const ready = tracked(errorOf(c.drained()));
      c.destroy();
      expect((await ready.promise).code).to.equal('ESHUTDOWN');
      expect(clock!.countTimers()).to.equal(0);
    });
  });
});
