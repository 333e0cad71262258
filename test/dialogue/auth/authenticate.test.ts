import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { expect } from 'chai';
import * as sinon from 'sinon';
import { MAX_AUTH_ROUNDS, authenticate } from '../../../lib/dialogue/auth/authenticate';
import { LOGIN } from '../../../lib/dialogue/auth/login';
import type { Credentials, SaslClient } from '../../../lib/dialogue/auth/mechanism';
import type { DialogueContext } from '../../../lib/dialogue/context';
import type { SessionOptions } from '../../../lib/options';
import { type SmtpSession, createSession } from '../../../lib/session';
import type { Connection } from '../../../lib/transport/connection';
import type { TranscriptLine } from '../../../lib/transport/transcript';
import { CLIENT_NAME, dialogueContext, drain, errorOf, openConnection } from '../../fixtures/connection';
import { checkLeaks } from '../../fixtures/handles';
import { GREETING, type ScriptedServer, type Step, ehloReply, scriptedServer } from '../../fixtures/scripted-server';
import { PASSWORD, USER } from '../../fixtures/default-server';

const CREDENTIALS: Credentials = { username: USER, password: PASSWORD };
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');
const PLAIN_LINE = `AUTH PLAIN ${b64(`\0${USER}\0${PASSWORD}`)}`;
const OK = '235 2.7.0 Authentication successful\r\n';
const CANCELLED = '501 5.7.0 Authentication cancelled\r\n';

/** A step whose reply is written by the test once it has seen what the client sent (SCRAM's nonce). */
interface LateReply {
  step: { send: string };
  gate: Step;
  open(reply: string): void;
}

function lateReply(): LateReply {
  let open!: () => void;
  const step = { send: '' };
  const gate: Step = { until: new Promise<void>((resolve) => (open = resolve)) };
  return { step, gate, open: (reply) => ((step.send = reply), open()) };
}

/** The server's side of SCRAM-SHA-256 (RFC 5802 section 3), from the client-first-message it received. */
function scramServer(authLine: string, password: string): { serverFirst: string; serverFinal: (clientFinal: string) => string } {
  const clientFirstBare = unb64(authLine.split(' ')[2]!).slice('n,,'.length);
  const nonce = `${/,r=(.*)$/.exec(clientFirstBare)![1]}server-part`;
  const salt = Buffer.from('a salt of sixteen');
  const iterations = 4096;
  const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;
  const hmac = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
  const salted = pbkdf2Sync(password, salt, iterations, createHash('sha256').digest().length, 'sha256');
  const serverFinal = (clientFinal: string): string => {
    const withoutProof = unb64(clientFinal).replace(/,p=.*$/, '');
    expect(withoutProof).to.equal(`c=biws,r=${nonce}`);
    return `v=${hmac(hmac(salted, 'Server Key'), `${clientFirstBare},${serverFirst},${withoutProof}`).toString('base64')}`;
  };
  return { serverFirst, serverFinal };
}

const BASE64_LINE = /^[A-Za-z0-9+/]+=*$/;

describe('dialogue/auth/authenticate', () => {
  let server: ScriptedServer | undefined;
  let conn: Connection | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    sinon.restore();
    conn?.destroy();
    session?.dispose();
    await server?.close();
    server = conn = session = undefined;
  });
  checkLeaks();

  /** A context whose EHLO advertised `auth` (or no AUTH at all when null), on a server playing `script`. */
  async function contextFor(auth: string | null, script: Step[], options: SessionOptions = {}): Promise<DialogueContext> {
    server = await scriptedServer([...script, { stall: true }]);
    conn = await openConnection(server.port);
    const ctx = dialogueContext(conn, options);
    ctx.capabilities = new Map(auth === null ? [['PIPELINING', '']] : [['AUTH', auth]]);
    return ctx;
  }

  describe('choosing the mechanism', () => {
    it('takes the strongest advertised: CRAM-MD5 over PLAIN and LOGIN, answering its 334 challenge', async () => {
      const challenge = '<1896.697170952@postoffice.example.net>';
      const digest = createHmac('md5', PASSWORD).update(challenge).digest('hex');
      const ctx = await contextFor('LOGIN PLAIN CRAM-MD5', [
        { expect: 'AUTH CRAM-MD5', send: `334 ${b64(challenge)}\r\n` },
        { expect: b64(`${USER} ${digest}`), send: OK },
      ]);
      expect(await drain(authenticate(ctx, CREDENTIALS))).to.deep.equal([{ status: 'authenticating', mechanism: 'CRAM-MD5' }]);
      expect(server!.failures).to.deep.equal([]);
    });

    it('takes SCRAM-SHA-256 over SCRAM-SHA-1, whatever the advertised order; a 454 is ESERVERTEMP', async () => {
      const ctx = await contextFor('PLAIN SCRAM-SHA-1 scram-sha-256', [
        { expect: /^AUTH SCRAM-SHA-256 [A-Za-z0-9+/]+=*$/, send: '454 4.7.0 Temporary authentication failure\r\n' },
      ]);
      const error = await errorOf(authenticate(ctx, CREDENTIALS));
      expect(error.code).to.equal('ESERVERTEMP');
      expect(error.command).to.equal('AUTH SCRAM-SHA-256');
      expect(unb64(server!.lines[0]!.split(' ')[2]!)).to.match(/^n,,n=alice,r=[A-Za-z0-9+/]{32}$/);
    });

    it('follows authMechanisms over its own order', async () => {
      const ctx = await contextFor(
        'SCRAM-SHA-256 PLAIN LOGIN',
        [
          { expect: 'AUTH LOGIN', send: `334 ${b64('Username:')}\r\n` },
          { expect: b64(USER), send: `334 ${b64('Password:')}\r\n` },
          { expect: b64(PASSWORD), send: OK },
        ],
        { authMechanisms: ['login', 'PLAIN'] },
      );
      expect(await drain(authenticate(ctx, CREDENTIALS))).to.deep.equal([{ status: 'authenticating', mechanism: 'LOGIN' }]);
    });

    it('uses XOAUTH2 when asked for, the password as the token', async () => {
      const ctx = await contextFor('PLAIN XOAUTH2', [{ expect: `AUTH XOAUTH2 ${b64(`user=${USER}\x01auth=Bearer ${PASSWORD}\x01\x01`)}`, send: OK }], {
        authMechanisms: ['XOAUTH2'],
      });
      expect(await drain(authenticate(ctx, CREDENTIALS))).to.deep.equal([{ status: 'authenticating', mechanism: 'XOAUTH2' }]);
    });

    it('fails with ENOTSUP as an error notification, writing nothing, when the server offers no AUTH', async () => {
      const ctx = await contextFor(null, []);
      const auth$ = authenticate(ctx, CREDENTIALS); // must not throw
      const error = await errorOf(auth$);
      expect(error.code).to.equal('ENOTSUP');
      expect(error.message).to.include('the server offers no AUTH mechanism');
      expect(server!.lines).to.deep.equal([]);
    });

    it('fails with ENOTSUP when it offers only what the client may not use (XOAUTH2 unasked, GSSAPI)', async () => {
      const ctx = await contextFor('GSSAPI XOAUTH2', []);
      const error = await errorOf(authenticate(ctx, CREDENTIALS));
      expect(error.code).to.equal('ENOTSUP');
      expect(error.message).to.include('AUTH GSSAPI XOAUTH2');
      expect(server!.lines).to.deep.equal([]);
    });
  });

  describe('the exchange', () => {
    it('sends PLAIN with its initial response and completes on 235', async () => {
      const ctx = await contextFor('PLAIN', [{ expect: PLAIN_LINE, send: OK }]);
      expect(await drain(authenticate(ctx, CREDENTIALS))).to.deep.equal([{ status: 'authenticating', mechanism: 'PLAIN' }]);
      expect(server!.failures).to.deep.equal([]);
    });

    it('fails a 535 with ESERVERPERM, naming the command without its payload', async () => {
      const ctx = await contextFor('PLAIN', [{ expect: PLAIN_LINE, send: '535 5.7.8 Authentication credentials invalid\r\n' }]);
      const error = await errorOf(authenticate(ctx, CREDENTIALS));
      expect(error.code).to.equal('ESERVERPERM');
      expect(error.reply?.code).to.equal(535);
      expect(error.command).to.equal('AUTH PLAIN');
      expect(error.message).to.not.include(PLAIN_LINE.split(' ')[2]);
    });

    it('fails a 535 after the LOGIN password with ESERVERPERM for AUTH LOGIN', async () => {
      const ctx = await contextFor('LOGIN', [
        { expect: 'AUTH LOGIN', send: `334 ${b64('Username:')}\r\n` },
        { expect: b64(USER), send: `334 ${b64('Password:')}\r\n` },
        { expect: b64(PASSWORD), send: '535 5.7.8 no\r\n' },
      ]);
      const error = await errorOf(authenticate(ctx, CREDENTIALS));
      expect(error.code).to.equal('ESERVERPERM');
      expect(error.command).to.equal('AUTH LOGIN');
    });

    it('fails a reply AUTH cannot take (250) with ESERVERSYNC', async () => {
      const ctx = await contextFor('PLAIN', [{ expect: PLAIN_LINE, send: '250 sure\r\n' }]);
      expect((await errorOf(authenticate(ctx, CREDENTIALS))).code).to.equal('ESERVERSYNC');
    });

    it('shows every payload and challenge as [redacted] in the transcript', async () => {
      const ctx = await contextFor('LOGIN', [
        { expect: 'AUTH LOGIN', send: `334 ${b64('Username:')}\r\n` },
        { expect: b64(USER), send: `334 ${b64('Password:')}\r\n` },
        { expect: b64(PASSWORD), send: OK },
      ]);
      const transcript: TranscriptLine[] = [];
      conn!.transcript$.subscribe((line) => transcript.push(line));
      await drain(authenticate(ctx, CREDENTIALS));
      expect(transcript.map((t) => `${t.direction === 'client' ? 'C' : 'S'}: ${t.line}`)).to.deep.equal([
        'C: AUTH LOGIN',
        'S: 334 [redacted]',
        'C: [redacted]',
        'S: 334 [redacted]',
        'C: [redacted]',
        'S: 235 2.7.0 Authentication successful',
      ]);
    });
  });

  describe('cancelling with "*"', () => {
    it('cancels a challenge that is not base64 and fails with EPROTO, carrying the challenge', async () => {
      const ctx = await contextFor('LOGIN', [
        { expect: 'AUTH LOGIN', send: '334 Username:\r\n' },
        { expect: '*', send: CANCELLED },
      ]);
      const error = await errorOf(authenticate(ctx, CREDENTIALS));
      expect(error.code).to.equal('EPROTO');
      expect(error.reply).to.deep.equal({ code: 334, lines: ['Username:'] });
      expect(error.command).to.equal('AUTH LOGIN');
      expect(server!.lines).to.deep.equal(['AUTH LOGIN', '*']);
    });

    it('cancels a multi-line 334, even of base64 lines', async () => {
      const ctx = await contextFor('LOGIN', [
        { expect: 'AUTH LOGIN', send: `334-${b64('User')}\r\n334 ${b64('name:')}\r\n` },
        { expect: '*', send: CANCELLED },
      ]);
      expect((await errorOf(authenticate(ctx, CREDENTIALS))).code).to.equal('EPROTO');
      expect(server!.lines).to.deep.equal(['AUTH LOGIN', '*']);
    });

    it('cancels a challenge the mechanism refuses (an empty one to CRAM-MD5)', async () => {
      const ctx = await contextFor('CRAM-MD5', [
        { expect: 'AUTH CRAM-MD5', send: '334 \r\n' },
        { expect: '*', send: CANCELLED },
      ]);
      const error = await errorOf(authenticate(ctx, CREDENTIALS));
      expect(error.code).to.equal('EPROTO');
      expect(error.message).to.equal('CRAM-MD5 authentication failed: the server sent an empty challenge');
    });

    it('still fails with EPROTO when the server closes instead of answering the "*"', async () => {
      const ctx = await contextFor('LOGIN', [{ expect: 'AUTH LOGIN', send: '334 !!\r\n' }, { expect: '*' }, { close: true }]);
      expect((await errorOf(authenticate(ctx, CREDENTIALS))).code).to.equal('EPROTO');
    });
  });

  describe(`at most ${MAX_AUTH_ROUNDS} challenges`, () => {
    it(`answers ${MAX_AUTH_ROUNDS}, then fails with ESERVERSYNC without answering or cancelling the next`, async () => {
      const endless: SaslClient = { initialResponse: () => null, respond: () => Buffer.from('more'), complete: () => {} };
      sinon.stub(LOGIN, 'create').returns(endless);
      const challenge = `334 ${b64('again?')}\r\n`;
      const ctx = await contextFor('LOGIN', [
        { expect: 'AUTH LOGIN', send: challenge },
        ...Array.from({ length: MAX_AUTH_ROUNDS }, (): Step => ({ expect: b64('more'), send: challenge })),
        { expect: 'NOOP', send: '250 ok\r\n' },
      ]);
      const error = await errorOf(authenticate(ctx, CREDENTIALS));
      expect(error.code).to.equal('ESERVERSYNC');
      expect(error.message).to.equal(`more than ${MAX_AUTH_ROUNDS} AUTH challenges`);
      await drain(conn!.request({ line: 'NOOP' })); // the next line the server reads is this one
      expect(server!.lines).to.deep.equal(['AUTH LOGIN', ...Array<string>(MAX_AUTH_ROUNDS).fill(b64('more')), 'NOOP']);
    });
  });

  describe('SCRAM-SHA-256', () => {
    /** Runs the exchange against a server that proves `serverPassword`; returns how the server answered last. */
    async function scram(serverPassword: string, last: Step): Promise<{ ctx: DialogueContext; play: () => Promise<void> }> {
      const first = lateReply();
      const final = lateReply();
      const ctx = await contextFor('SCRAM-SHA-256', [
        { expect: /^AUTH SCRAM-SHA-256 / },
        first.gate,
        first.step,
        { expect: BASE64_LINE },
        final.gate,
        final.step,
        last,
      ]);
      const play = async (): Promise<void> => {
        await server!.received(/^AUTH SCRAM-SHA-256 /);
        const side = scramServer(server!.lines[0]!, serverPassword);
        first.open(`334 ${b64(side.serverFirst)}\r\n`);
        await server!.received(BASE64_LINE);
        final.open(`334 ${b64(side.serverFinal(server!.lines[1]!))}\r\n`);
      };
      return { ctx, play };
    }

    it('verifies the server signature, answers it with an empty line and completes on 235', async () => {
      const { ctx, play } = await scram(PASSWORD, { expect: '', send: OK });
      const [values] = await Promise.all([drain(authenticate(ctx, CREDENTIALS)), play()]);
      expect(values).to.deep.equal([{ status: 'authenticating', mechanism: 'SCRAM-SHA-256' }]);
      expect(server!.failures).to.deep.equal([]);
    });

    it('cancels a wrong server signature with "*" and fails with EPROTO', async () => {
      const { ctx, play } = await scram('not the password', { expect: '*', send: CANCELLED });
      const [error] = await Promise.all([errorOf(authenticate(ctx, CREDENTIALS)), play()]);
      expect(error.code).to.equal('EPROTO');
      expect(error.message).to.equal('SCRAM-SHA-256 authentication failed: the server signature is wrong: the server does not know the password');
      expect(server!.lines.at(-1)).to.equal('*');
    });

    it('fails a 235 that skips the server signature with EPROTO: anyone can say "accepted"', async () => {
      const ctx = await contextFor('SCRAM-SHA-256', [{ expect: /^AUTH SCRAM-SHA-256 /, send: OK }]);
      const error = await errorOf(authenticate(ctx, CREDENTIALS));
      expect(error.code).to.equal('EPROTO');
      expect(error.message).to.include('without proving it knows the password');
    });

    it('in a session, a wrong server signature closes the session with EPROTO and no QUIT', async () => {
      const first = lateReply();
      const final = lateReply();
      server = await scriptedServer([
        { send: GREETING },
        { expect: `EHLO ${CLIENT_NAME}`, send: ehloReply(['AUTH SCRAM-SHA-256']) },
        { expect: /^AUTH SCRAM-SHA-256 / },
        first.gate,
        first.step,
        { expect: BASE64_LINE },
        final.gate,
        final.step,
        { expect: '*', send: CANCELLED },
      ]);
      session = createSession({ tls: 'none', allowInsecureAuth: true, clientName: CLIENT_NAME });
      const connecting = errorOf(session.connect({ host: '127.0.0.1', port: server.port }, USER, PASSWORD));
      await server.received(/^AUTH SCRAM-SHA-256 /);
      const side = scramServer(server.lines[1]!, 'not the password');
      first.open(`334 ${b64(side.serverFirst)}\r\n`);
      await server.received(BASE64_LINE);
      final.open(`334 ${b64(side.serverFinal(server.lines[2]!))}\r\n`);
      const error = await connecting;
      expect(error.code).to.equal('EPROTO');
      await server.clientClosed;
      expect(session.state.status).to.equal('closed');
      expect(server.lines.slice(3)).to.deep.equal(['*']);
      expect(server.failures).to.deep.equal([]);
    });
  });
});
