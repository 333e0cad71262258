import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import { filter, firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { SmtpError } from '../lib/errors';
import { classifyFailure, createPool } from '../lib/pool';
import { SendAllError } from '../lib/send/send-all-error';
import { createSession } from '../lib/session';
import { checkLeaks } from './fixtures/handles';
import { turns } from './fixtures/observe';
import { type ScriptedServer, scriptedServer } from './fixtures/scripted-server';
import { defaultServer } from './fixtures/default-server';
import { connectTo, numbered } from './send/helpers';

/** What an Observable ends with: its error, or 'completed'. */
async function ending(observable: import('rxjs').Observable<unknown>): Promise<unknown> {
  return lastValueFrom(observable.pipe(toArray())).then(
    () => 'completed',
    (error: unknown) => error,
  );
}

describe('AbortSignal', () => {
  let server: ScriptedServer | undefined;
  let scripted: ScriptedServer | undefined;
  afterEach(async () => {
    await server?.close();
    await scripted?.close();
    server = scripted = undefined;
  });
  checkLeaks();

  it('send(mail, { signal }): aborting mid-data closes the connection, never ends the data, errors with ECANCELED', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    server = await defaultServer({ RCPT: () => '250 2.1.5 Ok\r\n' }, { capabilities: ['8BITMIME'] });
    const session = await connectTo(server.port);
    const controller = new AbortController();
    // A body that waits: the abort comes while the mail is in its envelope or data.
    async function* body(): AsyncGenerator<Uint8Array> {
      await held;
      yield Buffer.from('never\r\n');
    }
    const result = ending(session.send(numbered(1, { body: body() }), { signal: controller.signal }));
    await server.received('DATA');
    controller.abort(new Error('user gave up'));

    const error = (await result) as SmtpError;
    expect(error).to.be.instanceOf(SmtpError);
    expect(error.code).to.equal('ECANCELED');
    // A SendAllError accounting for the mail; the abort's error is its cause, the signal's reason under that.
    expect(((error.cause as SmtpError).cause as Error).message).to.equal('user gave up');
    expect(server.data).to.deep.equal([]); // no end of data after a cut body
    expect(session.state.status).to.equal('closed'); // DATA was out: RSET cannot cancel it
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
    release();
    session.dispose();
  });

  // Issue 10, defect 3: a mail whose end of data left may have been delivered; its abort is no "cancelled".
  it('send(mail, { signal }) aborted once its end of data has left: ECANCELED listing the mail uncertain, which classifyFailure says', async () => {
    server = await defaultServer({ '.': '' });
    const session = await connectTo(server.port);
    const controller = new AbortController();
    const result = ending(session.send(numbered(1), { signal: controller.signal }));
    while (server.data.length === 0) await turns(1);
    controller.abort();

    const error = (await result) as SendAllError;
    expect(error).to.be.instanceOf(SendAllError);
    expect(error.code).to.equal('ECANCELED');
    expect(error.uncertain.map((ref) => ref.index)).to.deep.equal([0]);
    expect(classifyFailure(error)).to.equal('uncertain');
    session.dispose();
  });

  it('a signal aborted before the call: ECANCELED, nothing written', async () => {
    server = await defaultServer();
    const session = await connectTo(server.port);
    const error = (await ending(session.sendAll([numbered(1)], { signal: AbortSignal.abort() }))) as SmtpError;

    expect(error.code).to.equal('ECANCELED');
    expect(server.lines.filter((l) => l.startsWith('MAIL'))).to.deep.equal([]);
    session.dispose();
  });

  it('SessionOptions.signal: aborting disposes the session, and its listener goes with it', async () => {
    server = await defaultServer();
    const controller = new AbortController();
    const session = createSession({ tls: 'none', signal: controller.signal });
    await lastValueFrom(session.connect({ host: '127.0.0.1', port: server.port }));
    let completed = false;
    session.state$.subscribe({ complete: () => (completed = true) });

    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
    controller.abort();
    expect(completed).to.equal(true);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
    expect(session.state.status).to.equal('closed');
    const error = (await ending(session.noop())) as SmtpError;
    expect(error.code).to.equal('EINVAL');
  });

  it('SessionOptions.signal: a send waiting when it aborts errors with ECANCELED, the end of data never sent', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    server = await defaultServer({}, { capabilities: ['8BITMIME'] });
    const controller = new AbortController();
    const session = createSession({ tls: 'none', signal: controller.signal });
    await lastValueFrom(session.connect({ host: '127.0.0.1', port: server.port }));
    async function* body(): AsyncGenerator<Uint8Array> {
      await held;
      yield Buffer.from('never\r\n');
    }
    const result = ending(session.send(numbered(1, { body: body() })));
    await server.received('DATA');
    controller.abort(new Error('shutting down'));

    const error = (await result) as SmtpError;
    expect(error).to.be.instanceOf(SmtpError);
    expect(error.code).to.equal('ECANCELED');
    expect(server.data).to.deep.equal([]);
    expect(session.state.status).to.equal('closed');
    release();
  });

  it('SessionOptions.signal: a connect waiting for the greeting when it aborts errors with ECANCELED', async () => {
    scripted = await scriptedServer(() => [{ stall: true }]);
    const controller = new AbortController();
    const session = createSession({ tls: 'none', signal: controller.signal });
    const result = ending(session.connect({ host: '127.0.0.1', port: scripted.port }));
    await firstValueFrom(session.state$.pipe(filter((s) => s.status === 'greeting')));
    controller.abort();

    const error = (await result) as SmtpError;
    expect(error).to.be.instanceOf(SmtpError);
    expect(error.code).to.equal('ECANCELED');
    expect(session.state.status).to.equal('closed');
  });

  // Issue 10, defect 14: each call added its own listener, and the eleventh warned.
  it('50 session calls and 50 pool calls sharing one AbortSignal add one listener to it, and no MaxListenersExceededWarning', async () => {
    server = await defaultServer();
    const session = await connectTo(server.port);
    const pool = createPool({ server: { host: '127.0.0.1', port: server.port }, tls: 'none', idleTimeout: 20, maxConnections: 2 });
    const { signal } = new AbortController();
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const calls = Array.from({ length: 50 }, (_, i) => [lastValueFrom(session.send(numbered(i), { signal })), lastValueFrom(pool.send(numbered(i), { signal }))]).flat();
      expect(getEventListeners(signal, 'abort')).to.have.length(1);
      await Promise.all(calls);
      // Node emits the warning on a later tick.
      await turns(2);
      expect(getEventListeners(signal, 'abort')).to.have.length(0);
      expect(warnings).to.not.include('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      session.dispose();
      await lastValueFrom(pool.close(), { defaultValue: undefined });
    }
  });

  it('a session disposed without the signal aborting removes its listener', () => {
    const controller = new AbortController();
    const session = createSession({ signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
    session.dispose();
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });

  it('rejects a signal that is not an AbortSignal with EINVAL', () => {
    expect(() => createSession({ signal: {} as AbortSignal })).to.throw(SmtpError).with.property('code', 'EINVAL');
    expect(() => createPool({ server: 'localhost:25', signal: 'x' as unknown as AbortSignal }))
      .to.throw(SmtpError)
      .with.property('code', 'EINVAL');
  });

  it('PoolOptions.signal: every sendAll ends with ECANCELED, the connections close, the pool closes', async () => {
    server = await defaultServer();
    const controller = new AbortController();
    const pool = createPool({ server: { host: '127.0.0.1', port: server.port }, tls: 'none', maxConnections: 2, signal: controller.signal });
    function* endless(): Generator<ReturnType<typeof numbered>> {
      for (let i = 0; ; i++) yield numbered(i);
    }
    const seen: unknown[] = [];
    const result = new Promise<unknown>((resolve) =>
      pool.sendAll(endless()).subscribe({ next: (o) => seen.push(o), error: resolve, complete: () => resolve('completed') }),
    );
    await server.received('DATA');
    controller.abort();

    const error = (await result) as SmtpError;
    expect(error.code).to.equal('ECANCELED');
    await lastValueFrom(pool.close(), { defaultValue: undefined });
    const refused = (await ending(pool.send(numbered(0)))) as SmtpError;
    expect(refused.code).to.equal('EPERM');
  });

  it('pool.sendAll(mails, { signal }): only that call ends; the pool goes on', async () => {
    server = await defaultServer();
    const pool = createPool({ server: { host: '127.0.0.1', port: server.port }, tls: 'none', idleTimeout: 20 });
    const error = (await ending(pool.sendAll([numbered(1)], { signal: AbortSignal.abort() }))) as SmtpError;
    expect(error.code).to.equal('ECANCELED');

    const result = await lastValueFrom(pool.send(numbered(2)));
    expect(result.accepted).to.deep.equal(['rcpt2@example.test']);
    await lastValueFrom(pool.close(), { defaultValue: undefined });
  });
});
