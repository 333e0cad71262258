import { expect } from 'chai';
import { greeting } from '../../lib/dialogue/greeting';
import type { Connection } from '../../lib/transport/connection';
import { drain, errorOf, openConnection } from '../fixtures/connection';
import { checkLeaks } from '../fixtures/handles';
import { GREETING, type ScriptedServer, type Step, reply, scriptedServer } from '../fixtures/scripted-server';

describe('dialogue/greeting', () => {
  let server: ScriptedServer | undefined;
  let conn: Connection | undefined;
  afterEach(async () => {
    conn?.destroy();
    await server?.close();
    server = conn = undefined;
  });
  checkLeaks();

  async function greetedBy(script: Step[]): Promise<Connection> {
    server = await scriptedServer(script);
    return (conn = await openConnection(server.port));
  }

  it('emits greeting, then completes on 220 without writing anything', async () => {
    const c = await greetedBy([{ send: GREETING }, { stall: true }]);
    expect(await drain(greeting(c))).to.deep.equal([{ status: 'greeting' }]);
    expect(server!.lines).to.deep.equal([]);
    expect(c.isClosed).to.equal(false);
  });

  it('accepts a multi-line 220', async () => {
    const c = await greetedBy([{ send: reply(220, 'mx.test ESMTP', 'no UCE') }, { stall: true }]);
    expect(await drain(greeting(c))).to.deep.equal([{ status: 'greeting' }]);
  });

  it('is cold: it waits for nothing until subscribed', async () => {
    const c = await greetedBy([{ stall: true }]);
    greeting(c);
    const noop = c.request({ line: 'NOOP' });
    server!.close(); // the NOOP's waiter, not a greeting's, must be the one that hears the close
    const error = await errorOf(noop);
    expect(error.code).to.equal('ESHUTDOWN');
    expect(error.command).to.equal('NOOP');
  });

  it('fails a 554 refusal with ESERVERPERM, carrying the reply and no command', async () => {
    const c = await greetedBy([{ send: '554 5.3.2 no service here\r\n' }, { stall: true }]);
    const error = await errorOf(greeting(c));
    expect(error.code).to.equal('ESERVERPERM');
    expect(error.reply).to.deep.equal({ code: 554, lines: ['5.3.2 no service here'], enhanced: { class: 5, subject: 3, detail: 2 } });
    expect(error.command).to.equal(undefined);
  });

  it('fails a 421 with ESERVERTEMP', async () => {
    const c = await greetedBy([{ send: '421 busy, try later\r\n' }, { stall: true }]);
    const error = await errorOf(greeting(c));
    expect(error.code).to.equal('ESERVERTEMP');
    expect(error.reply?.code).to.equal(421);
  });

  for (const code of [250, 221, 354]) {
    it(`fails a ${code} greeting with ESERVERSYNC: not a code a greeting can take`, async () => {
      const c = await greetedBy([{ send: `${code} hello\r\n` }, { stall: true }]);
      const error = await errorOf(greeting(c));
      expect(error.code).to.equal('ESERVERSYNC');
      expect(error.reply?.code).to.equal(code);
    });
  }

  it('fails with ESHUTDOWN when the server closes before greeting', async () => {
    const c = await greetedBy([{ close: true }]);
    const error = await errorOf(greeting(c));
    expect(error.code).to.equal('ESHUTDOWN');
    expect(c.isClosed).to.equal(true);
  });

  it('fails with ESERVERSYNC when the greeting line is not a reply', async () => {
    const c = await greetedBy([{ send: 'HTTP/1.1 400 Bad Request\r\n' }, { stall: true }]);
    expect((await errorOf(greeting(c))).code).to.equal('ESERVERSYNC');
  });
});
