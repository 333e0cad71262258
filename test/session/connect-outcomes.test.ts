import { expect } from 'chai';
import { filter, firstValueFrom } from 'rxjs';
import { SmtpError } from '../../lib/errors';
import { errorOf, gate } from '../fixtures/connection';
import { GREETING, bye, ehloReply, hello, scriptedServer } from '../fixtures/scripted-server';
import { PASSWORD, USER, defaultServer } from '../fixtures/default-server';
import { CLIENT, EHLO, record, sessionFixture, steps } from './session-fixture';

// Issue 2, the connect-outcome table at session level: completes, EISCONN, EINPROGRESS,
// ESERVERPERM, ESERVERTEMP and ENOTSUP. (ESERVERSYNC, ESHUTDOWN, ETIMEDOUT and socket codes are in
// connect-failures.test.ts, EINVAL in connect-einval.test.ts; 554 and 421 at the greeting, with
// and without QUIT, in test/hostile/reply-codes.test.ts.)

const PLAIN_LINE = `AUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}`;
const AUTH_OK = '235 2.7.0 Authentication successful\r\n';

describe('session connect outcomes (issue 2)', () => {
  const f = sessionFixture();

  describe('completes', () => {
    it('emits connecting, greeting, ehlo, authenticating with the mechanism, connected, then completes', async () => {
      const server = f.track(await scriptedServer([...hello(['AUTH PLAIN']), { expect: PLAIN_LINE, send: AUTH_OK }]));
      const session = f.session({ allowInsecureAuth: true });
      const seen = record(session.state$);
      const run = record(session.connect({ host: '127.0.0.1', port: server.port }, USER, PASSWORD));
      await run.ended;
      expect(run.error).to.equal(undefined);
      expect(run.completed).to.equal(true);
      expect(steps(run.values)).to.deep.equal(['connecting', 'greeting', 'ehlo', 'authenticating:PLAIN', 'connected:PLAIN']);
      expect(steps(seen.values)).to.deep.equal(['idle', ...steps(run.values)]);
      for (const state of run.values) expect(state.server).to.deep.equal({ host: '127.0.0.1', port: server.port });
      expect(session.state).to.deep.include({ status: 'connected', mechanism: 'PLAIN', secure: false });
      expect(session.state.error).to.equal(undefined);
      expect(server.lines).to.deep.equal([EHLO, PLAIN_LINE]);
    });

    it('without a user name sends no AUTH: connecting, greeting, ehlo, connected', async () => {
      const server = f.track(await scriptedServer(hello(['AUTH PLAIN', 'SIZE 1000'])));
      const session = f.session();
      const run = record(session.connect(`smtp://127.0.0.1:${server.port}`));
      await run.ended;
      expect(steps(run.values)).to.deep.equal(['connecting', 'greeting', 'ehlo', 'connected']);
      expect([...session.capabilities!]).to.deep.equal([
        ['AUTH', 'PLAIN'],
        ['SIZE', '1000'],
      ]);
      expect(server.lines).to.deep.equal([EHLO]);
    });

    it('falls back to HELO when EHLO gets 502: connecting, greeting, ehlo, helo, connected, no capabilities', async () => {
      const server = f.track(await scriptedServer([{ send: GREETING }, { expect: EHLO, send: '502 5.5.2 no EHLO\r\n' }, { expect: `HELO ${CLIENT}`, send: '250 ok\r\n' }]));
      const session = f.session();
      expect(session.capabilities).to.equal(null);
      const run = record(session.connect(`127.0.0.1:${server.port}`));
      await run.ended;
      expect(steps(run.values)).to.deep.equal(['connecting', 'greeting', 'ehlo', 'helo', 'connected']);
      expect(session.capabilities).to.be.instanceOf(Map).with.property('size', 0);
    });

    it('uses the port of a host:port string and of an smtp:// URL', async () => {
      const server = f.track(await defaultServer());
      for (const address of [`127.0.0.1:${server.port}`, `smtp://127.0.0.1:${server.port}`]) {
        const session = f.session();
        const run = record(session.connect(address));
        await run.ended;
        expect(run.values.at(-1), address).to.deep.include({ status: 'connected', server: { host: '127.0.0.1', port: server.port } });
      }
    });
  });

  describe('EISCONN and EINPROGRESS', () => {
    it('EISCONN: a second connect on a connected session, as an error notification; the session stays connected', async () => {
      const server = f.track(await defaultServer());
      const session = f.session();
      await record(session.connect({ host: '127.0.0.1', port: server.port })).ended;
      const again = session.connect({ host: '127.0.0.1', port: server.port }); // must not throw
      const error = await errorOf(again);
      expect(error).to.be.instanceOf(SmtpError);
      expect(error.code).to.equal('EISCONN');
      expect(session.state.status).to.equal('connected');
      expect(server.connections).to.equal(1);
    });

    it('EINPROGRESS: a connect while one is in progress; the first then completes undisturbed', async () => {
      const held = gate();
      const server = f.track(await scriptedServer([held.step, ...hello()]));
      const session = f.session();
      const first = record(session.connect({ host: '127.0.0.1', port: server.port }));
      await firstValueFrom(session.state$.pipe(filter((s) => s.status === 'greeting')));
      const second = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }));
      expect(second.code).to.equal('EINPROGRESS');
      held.open();
      await first.ended;
      expect(first.error).to.equal(undefined);
      expect(first.values.at(-1)?.status).to.equal('connected');
      expect(server.connections).to.equal(1);
    });
  });

  describe('ESERVERPERM', () => {
    it('535 to AUTH: ESERVERPERM naming the command without its payload, QUIT sent', async () => {
      const server = f.track(await scriptedServer([...hello(['AUTH PLAIN']), { expect: PLAIN_LINE, send: '535 5.7.8 bad credentials\r\n' }, ...bye()]));
      const session = f.session({ allowInsecureAuth: true });
      const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }, USER, PASSWORD));
      expect(error.code).to.equal('ESERVERPERM');
      expect(error.reply?.code).to.equal(535);
      expect(error.command).to.equal('AUTH PLAIN');
      expect(error.message).to.not.include(PLAIN_LINE.split(' ')[2]);
      expect(server.lines).to.deep.equal([EHLO, PLAIN_LINE, 'QUIT']);
      expect(session.state.status).to.equal('closed');
    });

    it('5xx to EHLO and to the HELO after it: ESERVERPERM naming HELO, QUIT sent', async () => {
      const server = f.track(
        await scriptedServer([
          { send: GREETING },
          { expect: EHLO, send: '500 5.5.1 what\r\n' },
          { expect: `HELO ${CLIENT}`, send: '550 5.7.1 not you\r\n' },
          ...bye(),
        ]),
      );
      const session = f.session();
      const run = record(session.connect({ host: '127.0.0.1', port: server.port }));
      await run.ended;
      const error = run.error as SmtpError;
      expect(error).to.be.instanceOf(SmtpError);
      expect(error.code).to.equal('ESERVERPERM');
      expect(error.command).to.equal(`HELO ${CLIENT}`);
      expect(error.reply?.code).to.equal(550);
      expect(steps(run.values)).to.deep.equal(['connecting', 'greeting', 'ehlo', 'helo']);
      expect(server.lines).to.deep.equal([EHLO, `HELO ${CLIENT}`, 'QUIT']);
    });
  });

  describe('ESERVERTEMP', () => {
    it('454 to AUTH: ESERVERTEMP, QUIT sent (still in step)', async () => {
      const server = f.track(await scriptedServer([...hello(['AUTH PLAIN']), { expect: PLAIN_LINE, send: '454 4.7.0 temporary auth failure\r\n' }, ...bye()]));
      const session = f.session({ allowInsecureAuth: true });
      const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }, USER, PASSWORD));
      expect(error.code).to.equal('ESERVERTEMP');
      expect(error.reply?.code).to.equal(454);
      expect(server.lines).to.deep.equal([EHLO, PLAIN_LINE, 'QUIT']);
      expect(session.state).to.deep.include({ status: 'closed', error });
    });
  });

  describe('ENOTSUP', () => {
    it('credentials but no AUTH mechanism in common: ENOTSUP before any AUTH, QUIT sent', async () => {
      const server = f.track(await scriptedServer([...hello(['AUTH GSSAPI NTLM']), ...bye()]));
      const session = f.session({ allowInsecureAuth: true });
      const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }, USER, PASSWORD));
      expect(error.code).to.equal('ENOTSUP');
      expect(error.message).to.include('AUTH GSSAPI NTLM');
      expect(server.lines).to.deep.equal([EHLO, 'QUIT']);
      expect(session.state).to.deep.include({ status: 'closed', error });
    });

    it('credentials and a server that advertises no AUTH at all: ENOTSUP', async () => {
      const server = f.track(await scriptedServer([{ send: GREETING }, { expect: EHLO, send: ehloReply(['PIPELINING']) }, ...bye()]));
      const error = await errorOf(f.session({ allowInsecureAuth: true }).connect({ host: '127.0.0.1', port: server.port }, USER, PASSWORD));
      expect(error.code).to.equal('ENOTSUP');
      expect(error.message).to.include('no AUTH mechanism');
    });
  });
});
