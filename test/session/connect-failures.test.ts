import * as net from 'node:net';
import { expect } from 'chai';
import { filter, firstValueFrom } from 'rxjs';
import * as sinon from 'sinon';
import { closedPort, errorOf, fakeTime, gate } from '../fixtures/connection';
import { GREETING, type Step, ehloReply, hello, scriptedServer } from '../fixtures/scripted-server';
import { PASSWORD, USER } from '../fixtures/default-server';
import { EHLO, TIMEOUT_MS, netModule, record, sessionFixture, steps } from './session-fixture';

// Issue 2, the connect-outcome table at session level: ESERVERSYNC (malformed lines; the other
// cases are in test/hostile), ESHUTDOWN at each phase, ETIMEDOUT for the TCP connect and per reply,
// and socket errors passed through with their own code.

const dnsModule = require('node:dns') as typeof import('node:dns');
const PLAIN_LINE = `AUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}`;

describe('session connect failures (issue 2)', () => {
  const f = sessionFixture();

  describe('ESERVERSYNC: a reply line that is not a code 2xx-5xx followed by nothing, "-" or a space', () => {
    for (const line of ['250x ok', '2500 ok', '199 too low', '600 too high', '25', 'ok', '2a0 ok']) {
      it(`${JSON.stringify(line)} to EHLO: ESERVERSYNC, closed without QUIT`, async () => {
        const server = f.track(await scriptedServer([{ send: GREETING }, { expect: EHLO, send: `${line}\r\n` }, { stall: true }]));
        const session = f.session();
        const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }));
        expect(error.code).to.equal('ESERVERSYNC');
        expect(error.message).to.match(/^Malformed reply line/);
        await server.clientClosed;
        expect(server.lines).to.deep.equal([EHLO]);
        expect(session.state).to.deep.include({ status: 'closed', error });
      });
    }
  });

  describe('ESHUTDOWN: the server closes before the dialogue is done', () => {
    const cases: [string, Step[], boolean][] = [
      ['before the greeting', [{ close: true }], false],
      ['in the middle of the greeting', [{ send: '220-half a greeting\r\n' }, { close: true }], false],
      ['after EHLO, without answering it', [{ send: GREETING }, { expect: EHLO }, { close: true }], false],
      ['in the middle of the EHLO reply', [{ send: GREETING }, { expect: EHLO, send: '250-test\r\n250-PIPE' }, { close: true }], false],
      ['after AUTH, without answering it', [...hello(['AUTH PLAIN']), { expect: PLAIN_LINE }, { close: true }], true],
    ];
    for (const [when, script, credentials] of cases) {
      it(`${when}: ESHUTDOWN, closed with it, no QUIT`, async () => {
        const server = f.track(await scriptedServer(script));
        const session = f.session({ allowInsecureAuth: true });
        const target = { host: '127.0.0.1', port: server.port };
        const error = await errorOf(credentials ? session.connect(target, USER, PASSWORD) : session.connect(target));
        expect(error.code).to.equal('ESHUTDOWN');
        expect(session.state).to.deep.include({ status: 'closed', error });
        expect(server.lines).to.not.include('QUIT');
      });
    }

    it('a reset (RST) at the greeting passes through as ECONNRESET', async () => {
      const raw = f.track(await resettingServer());
      const session = f.session();
      const error = await errorOf(session.connect({ host: '127.0.0.1', port: raw.port }));
      expect(error.code).to.equal('ECONNRESET');
      expect(session.state).to.deep.include({ status: 'closed', error });
    });
  });

  describe('ETIMEDOUT', () => {
    it('a TCP connect that never completes: ETIMEDOUT at the timeout to the ms, the socket destroyed', async () => {
      const sockets: net.Socket[] = [];
      // What a black-holed SYN looks like from here: a socket that never reaches 'connect'.
      sinon.stub(netModule, 'connect').callsFake(() => {
        const socket = new net.Socket();
        sockets.push(socket);
        return socket;
      });
      const clock = fakeTime(); // restored with every sinon fake after the test
      const session = f.session();
      const run = record(session.connect({ host: '192.0.2.1', port: 25 }));
      expect(steps(run.values)).to.deep.equal(['connecting']);
      await clock.tickAsync(TIMEOUT_MS - 1);
      expect(run.error).to.equal(undefined);
      await clock.tickAsync(1);
      await run.ended;
      expect(run.error).to.have.property('code', 'ETIMEDOUT');
      expect((run.error as Error).message).to.equal(`TCP connect did not complete within ${TIMEOUT_MS} ms`);
      expect(sockets).to.have.length(1);
      expect(sockets[0]!.destroyed).to.equal(true);
      expect(session.state).to.deep.include({ status: 'closed', error: run.error });
      expect(clock.countTimers()).to.equal(0);
    });

    it('the timer is per reply: a greeting and an EHLO reply each 1 ms before the timeout still connect', async () => {
      const greeting = gate();
      const ehlo = gate();
      const server = f.track(await scriptedServer([greeting.step, { send: GREETING }, { expect: EHLO }, ehlo.step, { send: ehloReply([]) }]));
      const clock = fakeTime();
      const session = f.session();
      const run = record(session.connect({ host: '127.0.0.1', port: server.port }));
      await firstValueFrom(session.state$.pipe(filter((s) => s.status === 'greeting')));
      await clock.tickAsync(TIMEOUT_MS - 1);
      greeting.open();
      await server.received(EHLO);
      await clock.tickAsync(TIMEOUT_MS - 1);
      ehlo.open();
      await run.ended;
      expect(run.error).to.equal(undefined);
      expect(session.state.status).to.equal('connected');
    });
  });

  describe('socket errors pass through with their own code', () => {
    it('ECONNREFUSED on a closed port, closed with it; the session can connect again', async () => {
      const session = f.session();
      const error = await errorOf(session.connect({ host: '127.0.0.1', port: await closedPort() }));
      expect(error.code).to.equal('ECONNREFUSED');
      expect(session.state).to.deep.include({ status: 'closed', error });
      const server = f.track(await scriptedServer(hello()));
      const again = record(session.connect({ host: '127.0.0.1', port: server.port }));
      await again.ended;
      expect(again.values.at(-1)?.status).to.equal('connected');
    });

    it('ENOTFOUND for a host that does not resolve (the resolver stubbed: no network needed)', async () => {
      const lookup = sinon.stub(dnsModule, 'lookup').callsFake(((host: string, _options: unknown, callback: (err: Error) => void) => {
        process.nextTick(() => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host })));
      }) as unknown as typeof dnsModule.lookup);
      const session = f.session();
      const error = await errorOf(session.connect('smtp://mail.example.invalid:2525'));
      expect(error.code).to.equal('ENOTFOUND');
      expect(lookup.firstCall.args[0]).to.equal('mail.example.invalid');
      expect(session.state).to.deep.include({ status: 'closed', server: { host: 'mail.example.invalid', port: 2525 } });
    });
  });
});

/** A server that resets every connection at once. */
async function resettingServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
