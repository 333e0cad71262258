import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import { type SmtpPool, classifyFailure, createPool } from '../../lib/pool';
import { SendAllError } from '../../lib/send/send-all-error';
import { checkAccounting } from '../fixtures/accounting';
import { CallRecorder } from '../fixtures/call-recorder';
import { checkLeaks } from '../fixtures/handles';
import { defaultServerStore, smtpServerStore } from '../fixtures/mail-store';
import { markedMail } from '../fixtures/marked-mail';
import { errorOf, turns } from '../fixtures/observe';
import type { ScriptedServer } from '../fixtures/scripted-server';
import { type Override, defaultServer } from '../fixtures/default-server';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';

// Issue 10, defect 3: a pool call given up on (unsubscribed, or aborted by its signal) went on
// sending: take(1) saw 1 outcome while the server stored 6; a mail cancelled with a signal was often
// delivered all the same, and classifyFailure called its ECANCELED permanent.

const MAILS = 10;
/** Connections of the pool: each may have one end of data in flight when the caller leaves. */
const CONNECTIONS = 2;

/**
 * A default server that answers until `answered` ends of data have been replied to, then goes
 * silent: the next end of data is read (and counts as taken) but never answered, nor anything after it.
 */
function silentAfter(answered: number): Promise<ScriptedServer> {
  let ends = 0;
  const quiet = (reply: string): Override => () => (ends > answered ? '' : reply);
  return defaultServer({
    MAIL: quiet('250 2.1.0 Ok'),
    RCPT: quiet('250 2.1.5 Ok'),
    DATA: quiet('354 go ahead'),
    '.': () => (++ends > answered ? '' : '250 2.0.0 Ok: queued'),
  });
}

/** Lets loopback I/O run until `done()` says so; never sleeps. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await turns(1);
}

describe('pool: a call given up on', () => {
  let pool: SmtpPool | undefined;
  let server: SmtpServerFixture | undefined;
  let scripted: ScriptedServer | undefined;
  afterEach(async () => {
    // The servers first: a connection left waiting for a reply that never comes ends with them.
    await server?.close();
    await scripted?.close();
    if (pool !== undefined) await lastValueFrom(pool.close(), { defaultValue: undefined });
    pool = server = scripted = undefined;
  });
  checkLeaks();

  const open = (port: number, maxConnections = CONNECTIONS): SmtpPool =>
    (pool = createPool({ server: { host: '127.0.0.1', port }, tls: 'none', idleTimeout: 20, maxConnections }));
  const marked = (name: string): ReturnType<typeof markedMail>[] => Array.from({ length: MAILS }, (_, i) => markedMail(`${name}-${i}`));

  it('sendAll(10 mails).pipe(take(1)): the server stores at most the mails that were in flight', async () => {
    server = await startSmtpServer();
    const store = smtpServerStore(server);
    const since = store.mark();
    const mails = marked('take-1');
    // Besides the one outcome heard, at most one mail a connection can have its end of data out
    // unanswered: under DATA the next one's content waits for a 354 that follows that reply.
    const inFlight = CONNECTIONS - 1;
    const call = new CallRecorder('pool sendAll, take(1)', 'sendAll', mails, inFlight).unsubscribeAfter(1).start(open(server.port).sendAll(mails));
    await call.ended;
    await lastValueFrom(pool!.close(), { defaultValue: undefined });

    expect(await checkAccounting({ calls: [call.finish()], store, since })).to.deep.equal([]);
    expect(server.messages.length).to.be.within(1, 1 + inFlight);
  });

  it('aborted by its signal: ECANCELED, with delivered, uncertain and not sent covering every mail once', async () => {
    scripted = await silentAfter(2);
    const store = defaultServerStore(scripted);
    const since = store.mark();
    const mails = marked('abort');
    const controller = new AbortController();
    // One connection, so that what is in flight is known: mails 0 and 1 answered, mail 2's end of
    // data out and never answered, mail 3's envelope pipelined behind it.
    const call = new CallRecorder('pool sendAll, aborted', 'sendAll', mails).start(open(scripted.port, 1).sendAll(mails, { signal: controller.signal }));
    await until(() => scripted!.messages.length === 3);
    call.aborting();
    controller.abort(new Error('the caller gave up'));
    await call.ended;
    await scripted.close();

    const record = call.finish();
    expect(await checkAccounting({ calls: [record], store, since })).to.deep.equal([]);
    const error = call.error as SendAllError;
    expect(error).to.be.instanceOf(SendAllError);
    expect(error.code).to.equal('ECANCELED');
    expect(error.delivered).to.have.length(2);
    expect(error.uncertain).to.have.length(1);
    expect(error.notSent).to.have.length(MAILS - 3);
    expect(record.fates.flat().filter((fate) => fate === 'uncertain')).to.have.length(1);
    expect(classifyFailure(error)).to.equal('uncertain');
  });

  it('send(mail, { signal }) aborted after its end of data left: uncertain, and classifyFailure says so', async () => {
    scripted = await silentAfter(0);
    const controller = new AbortController();
    const sending = errorOf(open(scripted.port).send(markedMail('abort-sent'), { signal: controller.signal }));
    await until(() => scripted!.messages.length === 1);
    controller.abort();

    const error = await sending;
    expect(error).to.be.instanceOf(SendAllError);
    expect(error.code).to.equal('ECANCELED');
    expect((error as SendAllError).uncertain.map((ref) => ref.index)).to.deep.equal([0]);
    expect(classifyFailure(error)).to.equal('uncertain');
  });

  it('send(mail, { signal }) aborted before its end of data left: not sent, never stored, and permanent (no retry overrules an abort)', async () => {
    scripted = await defaultServer({ RCPT: '' });
    const controller = new AbortController();
    const sending = errorOf(open(scripted.port).send(markedMail('abort-held'), { signal: controller.signal }));
    await scripted.received(/^RCPT TO:/);
    controller.abort();

    const error = await sending;
    expect(error).to.be.instanceOf(SendAllError);
    expect(error.code).to.equal('ECANCELED');
    expect((error as SendAllError).notSent.map((ref) => ref.index)).to.deep.equal([0]);
    expect(classifyFailure(error)).to.equal('permanent');
    await scripted.close();
    expect(scripted.messages).to.deep.equal([]);
  });
});
