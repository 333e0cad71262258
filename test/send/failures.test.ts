import { Readable } from 'node:stream';
import { expect } from 'chai';
import { type Subscription, lastValueFrom } from 'rxjs';
import { SmtpError } from '../../lib/errors';
import { SendAllError } from '../../lib/send/send-all-error';
import type { SmtpSession } from '../../lib/session';
import { checkLeaks } from '../fixtures/handles';
import { type ScriptedServer, unstuff } from '../fixtures/scripted-server';
import { DEFAULT_CAPABILITIES, type Override, defaultServer } from '../fixtures/default-server';
import { codeOf, connectTo, errorOf, numbered, outcomesOf, outcomesUntilError } from './helpers';

/** Answers the first command of its verb with `first`, every later one as the server would. */
function once(first: string): Override {
  let used = false;
  return (line) => {
    if (used) return defaults[line.split(' ')[0]!.toUpperCase()] ?? '250 2.0.0 Ok';
    used = true;
    return first;
  };
}
/**
 * A server as strict as Exim, Dovecot and OpenSMTPD after a transaction whose every recipient was
 * refused: the transaction stays open, so a MAIL without RSET before it is refused (Exim's "503
 * sender already given"); RSET or an end of data closes it.
 */
function strictServer(capabilities: string[]): Promise<ScriptedServer> {
  let open = false;
  let accepted = 0;
  return defaultServer(
    {
      MAIL: () => {
        if (open) return '503 sender already given';
        open = true;
        accepted = 0;
        return '250 OK';
      },
      RCPT: (line) => (line.includes('<reject@') ? '550 5.1.1 no such user' : (accepted++, '250 Accepted')),
      DATA: () => (accepted === 0 ? '503 5.5.1 Valid RCPT command must precede DATA' : '354 Enter message'),
      RSET: () => ((open = false), '250 Reset OK'),
      '.': () => ((open = false), '250 OK id=1'),
    },
    { capabilities },
  );
}

const defaults: Record<string, string> = {
  MAIL: '250 2.1.0 Ok',
  RCPT: '250 2.1.5 Ok',
  DATA: '354 End data with <CR><LF>.<CR><LF>',
  '.': '250 2.0.0 Ok: queued',
};

describe('send/failures', () => {
  let server: ScriptedServer | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    session?.dispose();
    await server?.close();
    server = session = undefined;
  });
  checkLeaks();

  /** The bodies the server received, unstuffed. */
  const received = (): string[] => server!.data.map((d) => unstuff(d).toString());

  describe('per mail: an ok: false outcome, RSET, and the next mail', () => {
    it('all recipients refused', async () => {
      server = await defaultServer({ RCPT: once('550 5.1.1 No such user'), DATA: once('554 5.5.1 No valid recipients') });
      session = await connectTo(server.port);
      const outcomes = await outcomesOf(session.sendAll([numbered(0), numbered(1)]));
      expect(outcomes.map(codeOf)).to.deep.equal(['ESERVERPERM', 'ok']);
      expect(!outcomes[0]!.ok && outcomes[0]!.error.reply?.code).to.equal(550);
      expect(!outcomes[0]!.ok && outcomes[0]!.error).to.be.instanceOf(SmtpError);
      expect(server.lines.filter((l) => l === 'RSET')).to.have.length(1);
      expect(received()).to.deep.equal([numbered(1).body]);
    });

    it('MAIL refused', async () => {
      server = await defaultServer({
        MAIL: once('550 5.7.1 Sender refused'),
        RCPT: once('503 5.5.1 Need MAIL first'),
        DATA: once('503 5.5.1 Need RCPT first'),
      });
      session = await connectTo(server.port);
      const outcomes = await outcomesOf(session.sendAll([numbered(0), numbered(1)]));
      expect(outcomes.map(codeOf)).to.deep.equal(['ESERVERPERM', 'ok']);
      expect(!outcomes[0]!.ok && outcomes[0]!.error.command).to.equal('MAIL FROM');
      expect(server.lines).to.include('RSET');
      expect(received()).to.deep.equal([numbered(1).body]);
    });

    it('MAIL refused, and DATA accepted anyway (RFC 2920 3.1): an empty message ends it and the body is never sent', async () => {
      server = await defaultServer({ MAIL: once('451 4.3.0 Try later'), RCPT: once('503 5.5.1 Need MAIL first') });
      session = await connectTo(server.port);
      const outcomes = await outcomesOf(session.sendAll([numbered(0), numbered(1)]));
      expect(outcomes.map(codeOf)).to.deep.equal(['ESERVERTEMP', 'ok']);
      expect(received()).to.deep.equal(['', numbered(1).body]);
    });

    it('DATA refused', async () => {
      server = await defaultServer({ DATA: once('554 5.7.0 Not now') });
      session = await connectTo(server.port);
      const outcomes = await outcomesOf(session.sendAll([numbered(0), numbered(1)]));
      expect(outcomes.map(codeOf)).to.deep.equal(['ESERVERPERM', 'ok']);
      expect(!outcomes[0]!.ok && outcomes[0]!.error.reply?.code).to.equal(554);
      expect(server.lines).to.include('RSET');
      expect(received()).to.deep.equal([numbered(1).body]);
    });

    it('552 at the end of data: the transaction is over, no RSET needed', async () => {
      server = await defaultServer({ '.': once('552 5.3.4 Message too big') });
      session = await connectTo(server.port);
      const outcomes = await outcomesOf(session.sendAll([numbered(0), numbered(1)]));
      expect(outcomes.map(codeOf)).to.deep.equal(['ESERVERPERM', 'ok']);
      expect(!outcomes[0]!.ok && outcomes[0]!.error.reply?.code).to.equal(552);
      expect(server.lines).not.to.include('RSET');
    });

    it('a temporary refusal is ESERVERTEMP', async () => {
      server = await defaultServer({ RCPT: '450 4.2.1 Mailbox busy' });
      session = await connectTo(server.port);
      const error = await errorOf(session.send(numbered(0)));
      expect(error.code).to.equal('ESERVERTEMP');
      expect(error.reply?.code).to.equal(450);
      expect(session.state.status).to.equal('connected');
    });

    it('EMSGSIZE before MAIL for a mail over SIZE, and the next is sent', async () => {
      server = await defaultServer({}, { capabilities: [...DEFAULT_CAPABILITIES, 'SIZE 100'] });
      session = await connectTo(server.port);
      const outcomes = await outcomesOf(session.sendAll([numbered(0, { body: 'x'.repeat(200) }), numbered(1)]));
      expect(outcomes.map(codeOf)).to.deep.equal(['EMSGSIZE', 'ok']);
      expect(server.lines.filter((l) => l.startsWith('MAIL'))).to.deep.equal(['MAIL FROM:<sender@example.test> SIZE=22 BODY=8BITMIME']);
    });

    it('EMSGSIZE for a declared size over SIZE, before MAIL', async () => {
      server = await defaultServer({}, { capabilities: [...DEFAULT_CAPABILITIES, 'SIZE 100'] });
      session = await connectTo(server.port);
      const error = await errorOf(session.send(numbered(0, { body: Readable.from([Buffer.from('x')]), size: 101 })));
      expect(error.code).to.equal('EMSGSIZE');
      expect(server.lines.some((l) => l.startsWith('MAIL'))).to.equal(false);
    });
  });

  // Issue 10, defect 1: the failure was told before the RSET was written, and a caller who
  // unsubscribed on hearing it cancelled the RSET; the next MAIL met a transaction still open.
  describe('after a send() whose every recipient was refused, against a server that refuses MAIL in an open transaction', () => {
    /** send() to reject@ only; the caller unsubscribes in its error handler, then calls `next`. */
    function refusedThen(next: () => void): Promise<SmtpError> {
      return new Promise<SmtpError>((resolve) => {
        const subscription: Subscription = session!.send(numbered(0, { to: 'reject@example.test' })).subscribe({
          error: (error: SmtpError) => {
            subscription.unsubscribe();
            next();
            resolve(error);
          },
        });
      });
    }

    for (const [how, capabilities] of [
      ['pipelined', ['PIPELINING']],
      ['in lock-step', []],
    ] as [string, string[]][]) {
      it(`${how}: the caller unsubscribing in its error handler, RSET still goes before the next send(), which is delivered`, async () => {
        server = await strictServer(capabilities);
        session = await connectTo(server.port);
        const refused = await refusedThen(() => undefined);
        expect(refused.code).to.equal('ESERVERPERM');
        expect(refused.reply?.code).to.equal(550);

        const result = await lastValueFrom(session.send(numbered(1)));
        expect(result.accepted).to.deep.equal(['rcpt1@example.test']);
        // Lock-step sends no DATA for a mail without recipients; pipelined, DATA left with MAIL.
        const first = capabilities.length > 0 ? ['MAIL', 'RCPT', 'DATA'] : ['MAIL', 'RCPT'];
        expect(server.lines.slice(1).map((l) => l.split(' ')[0])).to.deep.equal([...first, 'RSET', 'MAIL', 'RCPT', 'DATA']);
        expect(received()).to.deep.equal([numbered(1).body]);
      });
    }

    it('a send() made inside that error handler goes after the RSET and is delivered', async () => {
      server = await strictServer(['PIPELINING']);
      session = await connectTo(server.port);
      let next: Promise<unknown> | undefined;
      await refusedThen(() => (next = lastValueFrom(session!.send(numbered(1)))));

      expect(await next).to.deep.include({ accepted: ['rcpt1@example.test'] });
      const reset = server.lines.indexOf('RSET');
      expect(reset).to.be.greaterThan(0);
      expect(server.lines.slice(reset + 1)[0]).to.match(/^MAIL FROM:/);
      expect(received()).to.deep.equal([numbered(1).body]);
    });
  });

  describe('partial acceptance', () => {
    it('sends to the accepted recipients and lists both', async () => {
      server = await defaultServer({ RCPT: (line) => (line.includes('bad@') ? '550 5.1.1 No such user' : '250 2.1.5 Ok') });
      session = await connectTo(server.port);
      const result = await lastValueFrom(session.send(numbered(0, { to: ['good@example.test', 'bad@example.test', 'fine@example.test'] })));
      expect(result.accepted).to.deep.equal(['good@example.test', 'fine@example.test']);
      expect(result.rejected.map((r) => [r.recipient, r.reply.code])).to.deep.equal([['bad@example.test', 550]]);
      expect(received()).to.deep.equal([numbered(0).body]);
    });
  });

  describe('session-fatal', () => {
    it('421 to RCPT ends the sendAll with a SendAllError and closes the session', async () => {
      server = await defaultServer({ RCPT: '421 4.3.2 Shutting down' });
      session = await connectTo(server.port);
      const error = await errorOf(session.sendAll([numbered(0), numbered(1)]));
      expect(error).to.be.instanceOf(SendAllError);
      expect(error.code).to.equal('ESERVERTEMP');
      expect(error.reply?.code).to.equal(421);
      expect(error.command).to.equal('RCPT TO');
      expect((error as SendAllError).notSent).to.have.length(2);
      expect(session.state.status).to.equal('closed');
    });

    it('a reply code the command cannot take is ESERVERSYNC', async () => {
      server = await defaultServer({ DATA: '250 2.0.0 Ok' });
      session = await connectTo(server.port);
      const error = await errorOf(session.send(numbered(0)));
      expect(error).to.be.instanceOf(SendAllError);
      expect(error.code).to.equal('ESERVERSYNC');
      expect(received()).to.deep.equal([]);
    });

    it('RSET refused after a failed mail is ESERVERSYNC', async () => {
      server = await defaultServer({ RCPT: once('550 5.1.1 No such user'), DATA: once('503 5.5.1 No recipients'), RSET: '500 5.5.1 What?' });
      session = await connectTo(server.port);
      const { outcomes, error } = await outcomesUntilError(session.sendAll([numbered(0), numbered(1)]));
      expect(outcomes.map(codeOf)).to.deep.equal(['ESERVERPERM']);
      expect(error.code).to.equal('ESERVERSYNC');
      expect(error.notSent.map((r) => r.mail.body)).to.deep.equal([numbered(1).body]);
    });
  });
});
