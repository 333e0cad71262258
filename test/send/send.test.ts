import { expect } from 'chai';
import * as sinon from 'sinon';
import { lastValueFrom, tap } from 'rxjs';
import { SmtpError } from '../../lib/errors';
import type { Mail } from '../../lib/mail/mail';
import { type SmtpSession, createSession } from '../../lib/session';
import { checkAccounting } from '../fixtures/accounting';
import { CallRecorder } from '../fixtures/call-recorder';
import { checkLeaks } from '../fixtures/handles';
import { defaultServerStore } from '../fixtures/mail-store';
import { markedMail } from '../fixtures/marked-mail';
import { type ScriptedServer, unstuff } from '../fixtures/scripted-server';
import { defaultServer } from '../fixtures/default-server';
import { connectTo, errorOf, numbered } from './helpers';

describe('send/send', () => {
  let server: ScriptedServer | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    session?.dispose();
    await server?.close();
    server = session = undefined;
  });
  checkLeaks();

  describe('the result', () => {
    it('lists the recipients, the final reply, the queue id and the content octets', async () => {
      server = await defaultServer({ '.': '250 2.0.0 Ok: queued as 4dMxyz' });
      session = await connectTo(server.port);
      const result = await lastValueFrom(session.send({ from: 'a@example.test', to: ['b@example.test'], body: '.a\nb' }));
      expect(result.accepted).to.deep.equal(['b@example.test']);
      expect(result.rejected).to.deep.equal([]);
      expect(result.reply.code).to.equal(250);
      expect(result.queueId).to.equal('4dMxyz');
      expect(result.bytes).to.equal('.a\r\nb\r\n'.length);
      expect(server.data.map((d) => d.toString())).to.deep.equal(['..a\r\nb\r\n']);
    });

    it('has no queueId when the reply names none', async () => {
      server = await defaultServer({ '.': '250 2.0.0 Ok' });
      session = await connectTo(server.port);
      const result = await lastValueFrom(session.send(numbered(0)));
      expect(result).not.to.have.property('queueId');
    });

    it('the outcome carries the mail object that was sent, and its position', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      const mail = numbered(0);
      const outcome = await lastValueFrom(session.sendAll([mail]));
      expect(outcome.mail).to.equal(mail);
      expect(outcome.index).to.equal(0);
    });
  });

  describe('session state', () => {
    it('is EPERM before connect', async () => {
      session = createSession();
      const error = await errorOf(session.send(numbered(0)));
      expect(error.code).to.equal('EPERM');
    });

    it('is EPERM after quit', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      await lastValueFrom(session.quit());
      expect((await errorOf(session.send(numbered(0)))).code).to.equal('EPERM');
    });

    it('queues a second send made while the first runs, pipelined behind it: both succeed, in order', async () => {
      server = await defaultServer({}, { capabilities: ['PIPELINING'] });
      session = await connectTo(server.port);
      const first = lastValueFrom(session.send(numbered(0)));
      const second = lastValueFrom(session.send(numbered(1)));
      expect((await first).accepted).to.deep.equal(['rcpt0@example.test']);
      expect((await second).accepted).to.deep.equal(['rcpt1@example.test']);
      expect(server.data.map((d) => unstuff(d).toString())).to.deep.equal([numbered(0).body, numbered(1).body]);
    });

    it('runs reset() after a send made before it, not during it', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      const first = lastValueFrom(session.send(numbered(0)));
      const reset = lastValueFrom(session.reset());
      await first;
      expect((await reset).code).to.equal(250);
      expect(server.lines.slice(-2)).to.deep.equal(['DATA', 'RSET']);
    });

    it('quit() waits for the sends made before it', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      const sent = lastValueFrom(session.send(numbered(0)));
      const quit = lastValueFrom(session.quit(), { defaultValue: undefined });
      expect((await sent).accepted).to.deep.equal(['rcpt0@example.test']);
      await quit;
      expect(server.lines.slice(-2)).to.deep.equal(['DATA', 'QUIT']);
      expect(session.state.status).to.equal('closed');
    });

    it('refuses a send made after quit() with EPERM, as a notification', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      const quit = lastValueFrom(session.quit(), { defaultValue: undefined });
      expect((await errorOf(session.send(numbered(0)))).code).to.equal('EPERM');
      await quit;
    });

    it('goes to sending during the transaction and back to connected', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      const statuses: string[] = [];
      const watching = session.state$.subscribe((s) => statuses.push(s.status));
      await lastValueFrom(session.send(numbered(0)));
      watching.unsubscribe();
      expect(statuses).to.deep.equal(['connected', 'sending', 'connected']);
    });
  });

  describe('refused before anything is written', () => {
    const cases: [string, Partial<Mail>][] = [
      ['a recipient with CR', { to: 'b\r@example.test' }],
      ['a recipient with LF', { to: 'b@example.test\nRSET' }],
      ['a recipient with NUL', { to: 'b\0@example.test' }],
      ['a recipient with <', { to: 'b<@example.test' }],
      ['a recipient with >', { to: 'b@example.test>' }],
      ['a recipient with a space', { to: 'b@example.test NOTIFY=NEVER' }],
      ['a recipient over 254 octets', { to: `${'b'.repeat(250)}@example.test` }],
      ['an empty recipient list', { to: [] }],
      ['an empty recipient', { to: '' }],
      ['a sender with CRLF', { from: 'a@example.test>\r\nDATA' }],
    ];
    for (const [what, overrides] of cases) {
      it(`is EINVAL for ${what}`, async () => {
        server = await defaultServer();
        session = await connectTo(server.port);
        const error = await errorOf(session.send(numbered(0, overrides)));
        expect(error.code).to.equal('EINVAL');
        await lastValueFrom(session.noop());
        expect(server.lines.slice(1)).to.deep.equal(['NOOP']);
      });
    }
  });

  // Issue 10, defect 6: a non-mail was dropped from sendAll's outcomes, and send(undefined) completed with nothing.
  describe('something that is not a mail', () => {
    it('in sendAll: an EINVAL outcome at its own position, and the mails around it are delivered', async () => {
      server = await defaultServer();
      const store = defaultServerStore(server);
      const since = store.mark();
      session = await connectTo(server.port);
      const given = [markedMail('odd-0'), undefined, null, 42, 'a@example.test', markedMail('odd-5')];
      const codes: string[] = [];
      const call$ = session.sendAll(given as Mail[]).pipe(tap((o) => (codes[o.index] = o.ok ? 'ok' : o.error.code)));
      const call = new CallRecorder('sendAll with non-mails', 'sendAll', given).start(call$);
      await call.ended;
      session.dispose();

      expect(codes).to.deep.equal(['ok', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'ok']);
      expect(await checkAccounting({ calls: [call.finish()], store, since })).to.deep.equal([]);
    });

    it('send(undefined): EINVAL, nothing written, and the session goes on', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      const error = await errorOf(session.send(undefined as unknown as Mail));
      expect(error.code).to.equal('EINVAL');
      await lastValueFrom(session.noop());
      expect(server.lines.slice(1)).to.deep.equal(['NOOP']);
    });
  });

  describe('SMTPUTF8', () => {
    it('is added to MAIL when an address is not ASCII', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      await lastValueFrom(session.send(numbered(0, { to: 'josé@example.test' })));
      expect(server.lines.slice(1, 3)).to.deep.equal(['MAIL FROM:<sender@example.test> BODY=8BITMIME SMTPUTF8', 'RCPT TO:<josé@example.test>']);
    });

    it('is ENOTSUP before MAIL when the server does not offer it', async () => {
      server = await defaultServer({}, { capabilities: ['PIPELINING', '8BITMIME'] });
      session = await connectTo(server.port);
      const error = await errorOf(session.send(numbered(0, { to: 'josé@example.test' })));
      expect(error.code).to.equal('ENOTSUP');
      expect(server.lines.some((l) => l.startsWith('MAIL'))).to.equal(false);
    });
  });

  describe('DSN', () => {
    it('sends RET, ENVID, NOTIFY and ORCPT when the server offers DSN', async () => {
      server = await defaultServer({}, { capabilities: ['PIPELINING', 'DSN'] });
      session = await connectTo(server.port);
      const dsn = { ret: 'HDRS', envid: 'batch=7 é', notify: ['SUCCESS', 'DELAY'], orcpt: true } as const;
      await lastValueFrom(session.send(numbered(0, { dsn: { ...dsn, notify: [...dsn.notify] } })));
      expect(server.lines.slice(1, 3)).to.deep.equal([
        'MAIL FROM:<sender@example.test> RET=HDRS ENVID=batch+3D7+20+C3+A9',
        'RCPT TO:<rcpt0@example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;rcpt0@example.test',
      ]);
    });

    it('is ENOTSUP before MAIL when the server does not offer DSN', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      const error = await errorOf(session.send(numbered(0, { dsn: { notify: 'NEVER' } })));
      expect(error.code).to.equal('ENOTSUP');
      expect(server.lines.some((l) => l.startsWith('MAIL'))).to.equal(false);
    });
  });

  describe('reset() and noop()', () => {
    it('reset() sends RSET and emits the 250', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      const reply = await lastValueFrom(session.reset());
      expect(reply.code).to.equal(250);
      expect(server.lines.slice(1)).to.deep.equal(['RSET']);
    });

    it('noop() sends NOOP and emits the 250', async () => {
      server = await defaultServer();
      session = await connectTo(server.port);
      expect((await lastValueFrom(session.noop())).code).to.equal(250);
      expect(server.lines.slice(1)).to.deep.equal(['NOOP']);
    });

    it('reset() and noop() are EPERM when not connected', async () => {
      session = createSession();
      expect((await errorOf(session.reset())).code).to.equal('EPERM');
      expect((await errorOf(session.noop())).code).to.equal('EPERM');
    });

    it('a 5xx to RSET is ESERVERPERM and the session stays connected', async () => {
      server = await defaultServer({ RSET: '502 5.5.1 Not implemented' });
      session = await connectTo(server.port);
      const error = await errorOf(session.reset());
      expect(error).to.be.instanceOf(SmtpError);
      expect(error.code).to.equal('ESERVERPERM');
      expect(session.state.status).to.equal('connected');
    });

    it('a 421 to NOOP closes the session', async () => {
      server = await defaultServer({ NOOP: '421 4.4.2 Idle too long' });
      session = await connectTo(server.port);
      expect((await errorOf(session.noop())).code).to.equal('ESERVERTEMP');
      expect(session.state.status).to.equal('closed');
    });
  });

  describe('keepAlive', () => {
    const IDLE_MS = 30_000;
    let clock: sinon.SinonFakeTimers | undefined;
    afterEach(() => {
      clock?.restore();
      clock = undefined;
    });

    /** The lines the client writes from now on, synchronously as it writes them. */
    function clientLines(s: SmtpSession): string[] {
      const lines: string[] = [];
      s.transcript$.subscribe((t) => {
        if (t.direction === 'client') lines.push(t.line);
      });
      return lines;
    }

    it('sends NOOP after keepAlive ms of idleness, and again after as long', async () => {
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
      server = await defaultServer();
      session = await connectTo(server.port, { keepAlive: IDLE_MS });
      const sent = clientLines(session);
      await clock.tickAsync(IDLE_MS - 1);
      expect(sent).to.deep.equal([]);
      await clock.tickAsync(1);
      expect(sent).to.deep.equal(['NOOP']);
      await server.received('NOOP');
      await clock.tickAsync(IDLE_MS);
      expect(sent).to.deep.equal(['NOOP', 'NOOP']);
    });

    it('counts idleness from the end of the last transaction', async () => {
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
      server = await defaultServer();
      session = await connectTo(server.port, { keepAlive: IDLE_MS });
      const sent = clientLines(session);
      await clock.tickAsync(IDLE_MS / 2);
      await lastValueFrom(session.send(numbered(0)));
      await clock.tickAsync(IDLE_MS - 1);
      expect(sent).not.to.include('NOOP');
      await clock.tickAsync(1);
      expect(sent[sent.length - 1]).to.equal('NOOP');
    });

    it('sends nothing when keepAlive is not set', async () => {
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
      server = await defaultServer();
      session = await connectTo(server.port);
      const sent = clientLines(session);
      await clock.tickAsync(10 * IDLE_MS);
      expect(sent).to.deep.equal([]);
    });
  });

  it('reaches a server offering no extension at all (lock-step DATA, no parameters)', async () => {
    server = await defaultServer({}, { capabilities: [] });
    session = await connectTo(server.port);
    await lastValueFrom(session.send(numbered(0)));
    expect(server.lines.slice(1)).to.deep.equal(['MAIL FROM:<sender@example.test>', 'RCPT TO:<rcpt0@example.test>', 'DATA']);
  });
});
