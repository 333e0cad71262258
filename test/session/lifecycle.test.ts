import type * as net from 'node:net';
import { expect } from 'chai';
import { type Observable, filter, firstValueFrom, lastValueFrom } from 'rxjs';
import type { SessionState } from '../../lib/dialogue/transition';
import { SmtpError } from '../../lib/errors';
import type { SmtpSession } from '../../lib/session';
import { errorOf, fakeTime, turns } from '../fixtures/connection';
import { GREETING, type Step, bye, hello, scriptedServer } from '../fixtures/scripted-server';
import { PASSWORD, USER } from '../fixtures/default-server';
import { EHLO, record, sessionFixture, steps } from './session-fixture';

// Issue 2, the session's life: state$, a cold connect, unsubscribe, quit, dispose, reconnecting,
// and the server leaving after connected. (QUIT after a failed connect only while both sides are in
// step: connect-outcomes.test.ts and test/hostile/reply-codes.test.ts.)

const MAIL = { from: 'a@example.test', to: 'b@example.test', body: 'Subject: t\r\n\r\nhi\r\n' };
const PLAIN_LINE = `AUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}`;

function reach(session: SmtpSession, status: SessionState['status']): Promise<SessionState> {
  return firstValueFrom(session.state$.pipe(filter((s) => s.status === status)));
}

describe('session lifecycle (issue 2)', () => {
  const f = sessionFixture();

  describe('state$', () => {
    it('gives the current state on subscribe, synchronously: idle for a new session, as `state` does', () => {
      const session = f.session();
      const seen = record(session.state$);
      expect(steps(seen.values)).to.deep.equal(['idle']);
      expect(session.state).to.deep.equal(seen.values[0]);
    });

    it('a late subscriber gets the current state first, then every later transition', async () => {
      const server = f.track(await scriptedServer(hello()));
      const session = f.session();
      await lastValueFrom(session.connect({ host: '127.0.0.1', port: server.port }));
      const late = record(session.state$);
      await lastValueFrom(session.quit(), { defaultValue: undefined });
      expect(steps(late.values)).to.deep.equal(['connected', 'quitting', 'closed']);
    });
  });

  describe('connect() is cold', () => {
    it('opens nothing until subscribed', async () => {
      const server = f.track(await scriptedServer(hello()));
      const spy = f.connectSpy();
      const session = f.session();
      const connect$ = session.connect({ host: '127.0.0.1', port: server.port });
      await turns(5);
      expect(spy.callCount).to.equal(0);
      expect(session.state.status).to.equal('idle');
      await lastValueFrom(connect$);
      expect(spy.callCount).to.equal(1);
    });
  });

  describe('unsubscribing before connected aborts', () => {
    const cases: [SessionState['status'], Step[], boolean][] = [
      ['greeting', [{ stall: true }], false],
      ['ehlo', [{ send: GREETING }, { stall: true }], false],
      ['authenticating', [...hello(['AUTH PLAIN']), { stall: true }], true],
    ];
    for (const [status, script, credentials] of cases) {
      it(`at ${status}: the socket is destroyed, state closed without an error, nothing left running`, async () => {
        const server = f.track(await scriptedServer(script));
        const spy = f.connectSpy();
        const clock = fakeTime();
        const session = f.session({ allowInsecureAuth: true });
        const seen = record(session.state$);
        const target = { host: '127.0.0.1', port: server.port };
        const run = record(credentials ? session.connect(target, USER, PASSWORD) : session.connect(target));
        await reach(session, status);
        if (status === 'authenticating') await server.received(PLAIN_LINE);
        run.unsubscribe();
        expect(session.state.status).to.equal('closed');
        expect(session.state.error).to.equal(undefined);
        expect(seen.values.at(-1)).to.not.have.property('error');
        expect(seen.error).to.equal(undefined);
        expect(clock.countTimers(), 'timers left running').to.equal(0);
        const socket = spy.firstCall.returnValue as net.Socket;
        expect(socket.destroyed).to.equal(true);
        await server.clientClosed;
        for (const event of ['data', 'connect', 'timeout', 'drain']) expect(socket.listenerCount(event), event).to.equal(0);
        expect(socket.listenerCount('error'), 'error').to.be.at.most(1); // a no-op for a late write error
        expect(server.lines).to.not.include('QUIT');
      });
    }
  });

  describe('quit', () => {
    it('sends QUIT, emits the 221, and moves to quitting then closed without an error; a second quit just completes', async () => {
      const server = f.track(await scriptedServer([...hello(), ...bye()]));
      const session = f.session();
      await lastValueFrom(session.connect({ host: '127.0.0.1', port: server.port }));
      const seen = record(session.state$);
      const first = record(session.quit());
      await first.ended;
      expect(first.error).to.equal(undefined);
      expect(first.values.map((r) => r.code)).to.deep.equal([221]);
      const second = record(session.quit()); // on a closed session: completes, sends nothing
      await second.ended;
      expect([second.completed, second.values.length]).to.deep.equal([true, 0]);
      expect(steps(seen.values)).to.deep.equal(['connected', 'quitting', 'closed']);
      expect(seen.values.at(-1)).to.not.have.property('error');
      expect(server.lines).to.deep.equal([EHLO, 'QUIT']);
    });

    it('a server that closes instead of answering QUIT: quit completes, closed without an error', async () => {
      const server = f.track(await scriptedServer([...hello(), { expect: 'QUIT' }, { close: true }]));
      const session = f.session();
      await lastValueFrom(session.connect({ host: '127.0.0.1', port: server.port }));
      const quitting = record(session.quit());
      await quitting.ended;
      expect([quitting.completed, quitting.values.length]).to.deep.equal([true, 0]);
      expect(session.state).to.deep.include({ status: 'closed' });
      expect(session.state.error).to.equal(undefined);
    });
  });

  describe('dispose', () => {
    it('completes state$, replies$ and transcript$; every later call errors with EINVAL, never throws', async () => {
      const server = f.track(await scriptedServer(hello()));
      const session = f.session();
      await lastValueFrom(session.connect({ host: '127.0.0.1', port: server.port }));
      const seen = record(session.state$);
      const others = [record(session.replies$), record(session.transcript$)];
      session.dispose();
      expect(seen.completed).to.equal(true);
      expect(seen.error).to.equal(undefined);
      expect(steps(seen.values)).to.deep.equal(['connected', 'closed']);
      expect(others.map((o) => o.completed)).to.deep.equal([true, true]);
      const calls: Observable<unknown>[] = [
        session.connect({ host: '127.0.0.1', port: server.port }),
        session.quit(),
        session.noop(),
        session.reset(),
        session.send(MAIL),
        session.sendAll([MAIL]),
      ];
      for (const call of calls) expect((await errorOf(call)).code).to.equal('EINVAL');
      expect(() => session.dispose()).to.not.throw();
      await server.clientClosed;
      expect(server.connections).to.equal(1);
    });

    it('on a new session: state$ completes after idle', () => {
      const session = f.session();
      const seen = record(session.state$);
      session.dispose();
      expect(steps(seen.values)).to.deep.equal(['idle']);
      expect(seen.completed).to.equal(true);
    });
  });

  describe('reconnecting', () => {
    it('after a failure the session is closed and connects again on the same object', async () => {
      const server = f.track(await scriptedServer((i) => (i === 0 ? [{ send: '554 5.3.2 not now\r\n' }, ...bye()] : hello())));
      const session = f.session();
      const seen = record(session.state$);
      expect((await errorOf(session.connect({ host: '127.0.0.1', port: server.port }))).code).to.equal('ESERVERPERM');
      const again = await lastValueFrom(session.connect({ host: '127.0.0.1', port: server.port }));
      expect(again.status).to.equal('connected');
      expect(steps(seen.values)).to.deep.equal(['idle', 'connecting', 'greeting', 'closed', 'connecting', 'greeting', 'ehlo', 'connected']);
      expect(seen.values[3]!.error).to.have.property('code', 'ESERVERPERM');
      expect(session.state.error).to.equal(undefined);
      expect(server.connections).to.equal(2);
    });
  });

  describe('the server leaves after connected; state$ closes with the error and never errors itself', () => {
    it('an unasked 421: closed with ESERVERTEMP and the reply, no QUIT', async () => {
      const server = f.track(await scriptedServer([...hello(), { expect: 'NOOP', send: '250 ok\r\n421 4.4.2 idle too long\r\n' }, { stall: true }]));
      const session = f.session();
      await lastValueFrom(session.connect({ host: '127.0.0.1', port: server.port }));
      const seen = record(session.state$);
      await lastValueFrom(session.noop());
      const closed = await reach(session, 'closed');
      expect(closed.error).to.be.instanceOf(SmtpError);
      expect(closed.error).to.deep.include({ code: 'ESERVERTEMP' });
      expect(closed.error?.reply).to.deep.include({ code: 421, lines: ['4.4.2 idle too long'] });
      expect(seen.error).to.equal(undefined);
      expect(seen.completed).to.equal(false);
      await server.clientClosed;
      expect(server.lines).to.deep.equal([EHLO, 'NOOP']);
    });

    it('the connection closed: closed with ESHUTDOWN', async () => {
      const server = f.track(await scriptedServer([...hello(), { close: true }]));
      const session = f.session();
      const seen = record(session.state$);
      await lastValueFrom(session.connect({ host: '127.0.0.1', port: server.port }));
      const closed = await reach(session, 'closed');
      expect(closed.error).to.be.instanceOf(SmtpError).with.property('code', 'ESHUTDOWN');
      expect(seen.error).to.equal(undefined);
      expect(steps(seen.values).slice(-2)).to.deep.equal(['connected', 'closed']);
    });
  });
});
