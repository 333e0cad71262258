import { expect } from 'chai';
import * as sinon from 'sinon';
import { quit } from '../../lib/dialogue/quit';
import type { Connection } from '../../lib/transport/connection';
import { connection, drain, errorOf, fakeTime, openConnection } from '../fixtures/connection';
import { checkLeaks } from '../fixtures/handles';
import { type ScriptedServer, type Step, scriptedServer } from '../fixtures/scripted-server';

const TIMEOUT_MS = 5_000;

describe('dialogue/quit', () => {
  let server: ScriptedServer | undefined;
  let conn: Connection | undefined;
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    conn?.destroy();
    clock?.restore();
    await server?.close();
    server = conn = clock = undefined;
  });
  checkLeaks();

  async function connectedTo(script: Step[]): Promise<Connection> {
    server = await scriptedServer(script);
    return (conn = await openConnection(server.port));
  }

  it('sends QUIT and emits the 221, then completes', async () => {
    const c = await connectedTo([{ expect: 'QUIT', send: '221 2.0.0 bye\r\n' }, { stall: true }]);
    expect(await drain(quit(c))).to.deep.equal([{ code: 221, lines: ['2.0.0 bye'], enhanced: { class: 2, subject: 0, detail: 0 } }]);
    expect(server!.lines).to.deep.equal(['QUIT']);
  });

  it('completes without a reply when the server just closes: as good as a 221', async () => {
    const c = await connectedTo([{ expect: 'QUIT' }, { close: true }]);
    expect(await drain(quit(c))).to.deep.equal([]);
  });

  it('is cold: nothing is written until it is subscribed', async () => {
    const c = await connectedTo([{ expect: 'NOOP', send: '250 ok\r\n' }, { stall: true }]);
    quit(c); // built, never subscribed
    await drain(c.request({ line: 'NOOP' }));
    expect(server!.lines).to.deep.equal(['NOOP']);
    expect(server!.failures).to.deep.equal([]);
  });

  for (const [reply, code] of [
    ['500 what\r\n', 'ESERVERPERM'],
    ['421 closing anyway\r\n', 'ESERVERTEMP'],
    ['250 ok\r\n', 'ESERVERSYNC'],
  ] as const) {
    it(`fails ${reply.trim()} to QUIT with ${code}, naming QUIT`, async () => {
      const c = await connectedTo([{ expect: 'QUIT', send: reply }, { stall: true }]);
      const error = await errorOf(quit(c));
      expect(error.code).to.equal(code);
      expect(error.command).to.equal('QUIT');
    });
  }

  it('passes a socket error through rather than taking it for a close', async () => {
    const c = await connectedTo([{ expect: 'QUIT' }, { stall: true }]);
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const quitting = errorOf(quit(c));
    await server!.received('QUIT');
    c.currentSocket.emit('error', reset);
    const error = await quitting;
    expect(error.code).to.equal('ECONNRESET');
  });

  it('fails with ETIMEDOUT when QUIT is never answered', async () => {
    server = await scriptedServer([{ expect: 'QUIT' }, { stall: true }]);
    clock = fakeTime();
    conn = connection(server.port, TIMEOUT_MS);
    await drain(conn.ready$);
    let settled = false;
    const quitting = errorOf(quit(conn)).finally(() => (settled = true));
    await server.received('QUIT');
    await clock.tickAsync(TIMEOUT_MS - 1);
    expect(settled).to.equal(false);
    await clock.tickAsync(1);
    const error = await quitting;
    expect(error.code).to.equal('ETIMEDOUT');
    expect(error.command).to.equal('QUIT');
  });
});
