import { expect } from 'chai';
import type { Observable } from 'rxjs';
import type { ServerAddress } from '../../lib/address';
import { SmtpError } from '../../lib/errors';
import type { SmtpSession } from '../../lib/session';
import { errorOf } from '../fixtures/connection';
import { type ScriptedServer, hello, scriptedServer } from '../fixtures/scripted-server';
import { PASSWORD, USER } from '../fixtures/default-server';
import { record, sessionFixture } from './session-fixture';

// Issue 2, EINVAL: every case is an error notification (never a throw), detected before any socket
// is opened: `net.connect` is never called and the listening server never sees a connection.

type Call = (session: SmtpSession, port: number) => Observable<unknown>;

const local = (port: number): ServerAddress => ({ host: '127.0.0.1', port });

const CASES: [string, Call][] = [
  ['a disposed session', (s, port) => (s.dispose(), s.connect(local(port)))],
  ['an empty host', (s) => s.connect({ host: '' })],
  ['an empty server string', (s) => s.connect('')],
  ['port 0', (s) => s.connect({ host: '127.0.0.1', port: 0 })],
  ['port 65536', (s) => s.connect({ host: '127.0.0.1', port: 65536 })],
  ['port 1.5', (s) => s.connect({ host: '127.0.0.1', port: 1.5 })],
  ["port 'abc'", (s) => s.connect({ host: '127.0.0.1', port: 'abc' as unknown as number })],
  ['port 0 in a URL', (s) => s.connect('smtp://127.0.0.1:0')],
  ['a malformed URL', (s, port) => s.connect(`smtp://127.0.0.1:${port}/path`)],
  ['an unsupported scheme', (s, port) => s.connect(`http://127.0.0.1:${port}`)],
  ['a URL with CR LF in it', (s, port) => s.connect(`smtp://127.0.0.1\r\n:${port}`)],
  ['a user name without a password', (s, port) => s.connect(local(port), USER)],
  ['a user name with an empty password', (s, port) => s.connect(local(port), USER, '')],
  ['a password without a user name', (s, port) => s.connect(local(port), null, PASSWORD)],
  ['a password with an empty user name', (s, port) => s.connect(local(port), '', PASSWORD)],
  ['CR in the user name', (s, port) => s.connect(local(port), `${USER}\r`, PASSWORD)],
  ['LF in the user name', (s, port) => s.connect(local(port), `${USER}\nQUIT`, PASSWORD)],
  ['NUL in the user name', (s, port) => s.connect(local(port), `${USER}\0`, PASSWORD)],
  ['CR in the password', (s, port) => s.connect(local(port), USER, `${PASSWORD}\r`)],
  ['LF in the password', (s, port) => s.connect(local(port), USER, `${PASSWORD}\n`)],
  ['NUL in the password', (s, port) => s.connect(local(port), USER, `\0${PASSWORD}`)],
];

describe('session connect: EINVAL before any socket (issue 2)', () => {
  const f = sessionFixture();
  let server: ScriptedServer;
  beforeEach(async () => {
    server = f.track(await scriptedServer(hello(['AUTH PLAIN'])));
  });

  it('the check can fail: a valid connect does call net.connect and reach the server', async () => {
    const spy = f.connectSpy();
    const run = record(f.session().connect(local(server.port)));
    await run.ended;
    expect(run.error).to.equal(undefined);
    expect(spy.callCount).to.equal(1);
    expect(server.connections).to.equal(1);
  });

  for (const [what, call] of CASES) {
    it(`${what}: EINVAL as an error notification, no socket opened, the state unchanged`, async () => {
      const spy = f.connectSpy();
      const session = f.session({ allowInsecureAuth: true });
      let observable: Observable<unknown> | undefined;
      expect(() => (observable = call(session, server.port)), 'connect() must not throw').to.not.throw();
      const error = await errorOf(observable!);
      expect(error).to.be.instanceOf(SmtpError);
      expect(error.code).to.equal('EINVAL');
      expect(spy.callCount, 'net.connect calls').to.equal(0);
      expect(server.connections, 'connections the server saw').to.equal(0);
      expect(session.state.status).to.equal('idle');
    });
  }

  it('EINVAL for the clientName is thrown by createSession itself, before any session exists', () => {
    const spy = f.connectSpy();
    for (const clientName of ['client\r.test', 'client\n.test', 'client\0.test']) {
      expect(() => f.session({ clientName }), JSON.stringify(clientName)).to.throw(SmtpError).with.property('code', 'EINVAL');
    }
    expect(spy.callCount).to.equal(0);
  });
});
