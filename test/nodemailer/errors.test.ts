import { expect } from 'chai';
import { SmtpError, type SmtpErrorCode } from '../../lib/errors';
import { withDeadlines } from '../../lib/nodemailer/deadlines';
import { RxSmtpTransportError, nodemailerError, phaseOf, recipientError } from '../../lib/nodemailer/errors';
import { makeReply } from '../../lib/reply/reply';
import { BehaviorSubject, NEVER, lastValueFrom, of } from 'rxjs';
import sinon from 'sinon';
import type { SessionState } from '../../lib/dialogue/transition';

const reply = (code: number, text: string) => makeReply(code, [text]);
const replied = (code: number, text: string, command?: string) =>
  new SmtpError(code >= 500 ? 'ESERVERPERM' : 'ESERVERTEMP', text, { reply: reply(code, text), ...(command !== undefined && { command }) });
const socket = (code: string) => new SmtpError(code as SmtpErrorCode, `connect ${code}`, { cause: Object.assign(new Error(`connect ${code}`), { code, errno: -1, syscall: 'connect' }) });

describe('nodemailer/errors', () => {
  describe('nodemailerError gives nodemailer’s code and command', () => {
    const cases: [string, SmtpError, Parameters<typeof nodemailerError>[1], Partial<RxSmtpTransportError>][] = [
      ['a 535 to AUTH', replied(535, 'bad credentials', 'AUTH PLAIN [redacted]'), 'auth', { code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535, permanent: true }],
      ['no mechanism in common', new SmtpError('ENOTSUP', 'credentials were given but ...'), 'auth', { code: 'EAUTH', command: 'API' }],
      ['a refused MAIL FROM', replied(553, 'not allowed', 'MAIL FROM'), 'send', { code: 'EENVELOPE', command: 'MAIL FROM', message: 'Mail command failed: 553 not allowed' }],
      ['a refused DATA', replied(554, 'no', 'DATA'), 'send', { code: 'EENVELOPE', command: 'DATA' }],
      ['a refused end of data', replied(451, 'later', 'end of data'), 'send', { code: 'EMESSAGE', command: 'DATA', permanent: false }],
      ['a 503 (out of step, not permanent)', replied(503, 'bad sequence', 'end of data'), 'send', { permanent: false }],
      ['a message over SIZE', new SmtpError('EMSGSIZE', 'too big'), 'send', { code: 'EMESSAGE', command: 'MAIL FROM' }],
      ['a failed body stream', new SmtpError('EIO', 'stream broke'), 'send', { code: 'ESTREAM' }],
      ['a bad address', new SmtpError('EINVAL', 'a recipient "x" is not an address'), 'send', { code: 'EENVELOPE', command: 'API' }],
      ['an abort', new SmtpError('ECANCELED', 'aborted'), 'send', { code: 'EABORT' }],
      ['a closed connection', new SmtpError('ESHUTDOWN', 'closed'), 'send', { code: 'ECONNECTION', command: 'CONN', message: 'Connection closed unexpectedly' }],
      ['a silent server', new SmtpError('ETIMEDOUT', 'no reply'), 'send', { code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', message: 'Timeout' }],
      ['a refused connection', socket('ECONNREFUSED'), 'connect', { code: 'ESOCKET', originalCode: 'ECONNREFUSED', errno: -1, syscall: 'connect' }],
      ['an unknown host', socket('ENOTFOUND'), 'connect', { code: 'EDNS', originalCode: 'ENOTFOUND' }],
      ['an untrusted certificate', socket('DEPTH_ZERO_SELF_SIGNED_CERT'), 'connect', { code: 'ETLS', command: 'CONN' }],
      ['a refused STARTTLS', replied(454, 'TLS not available', 'STARTTLS'), 'connect', { code: 'ETLS', command: 'STARTTLS' }],
      ['STARTTLS required and not offered', new SmtpError('ENOTSUP', 'the server does not offer STARTTLS'), 'connect', { code: 'ETLS' }],
      ['a 421 greeting', replied(421, 'busy'), 'connect', { code: 'ECONNECTION', responseCode: 421 }],
      ['a 554 greeting', replied(554, 'go away'), 'connect', { code: 'EPROTOCOL', command: 'CONN', message: 'Invalid greeting: 554 go away' }],
      ['a refused EHLO', replied(550, 'no', 'EHLO client.example'), 'connect', { code: 'EPROTOCOL', command: 'EHLO client.example' }],
      ['an out-of-step server', new SmtpError('ESERVERSYNC', 'reply to no command'), 'send', { code: 'EPROTOCOL' }],
    ];
    for (const [what, error, phase, expected] of cases) {
      it(`for ${what}: ${expected.code}`, () => {
        const mapped = nodemailerError(error, phase);
        expect(mapped).to.be.instanceOf(RxSmtpTransportError).and.to.be.instanceOf(Error);
        expect(mapped).to.include(expected);
        expect(mapped.cause).to.equal(error);
      });
    }
  });

  describe('every recipient refused', () => {
    const error = replied(550, 'no such user', 'RCPT TO');

    it('lists every recipient with the one reply known when the refusals are not given', () => {
      const mapped = nodemailerError(error, 'send', ['b@example.test', 'c@example.test']);
      expect(mapped).to.include({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550 });
      expect(mapped.rejected).to.deep.equal(['b@example.test', 'c@example.test']);
      expect(mapped.rejectedErrors!.map((e) => [e.recipient, e.responseCode])).to.deep.equal([
        ['b@example.test', 550],
        ['c@example.test', 550],
      ]);
    });

    it('reports each refusal, and the first temporary one as the error’s response (as nodemailer), when given', () => {
      const refusals = [
        { recipient: 'b@example.test', reply: reply(550, 'no such user') },
        { recipient: 'c@example.test', reply: reply(452, 'mailbox full') },
      ];
      const mapped = nodemailerError(error, 'send', ['b@example.test', 'c@example.test'], refusals);
      expect(mapped).to.include({ responseCode: 452, permanent: false, message: "Can't send mail - all recipients were rejected: 452 mailbox full" });
      expect(mapped.rejectedErrors!.map((e) => [e.recipient, e.responseCode])).to.deep.equal([
        ['b@example.test', 550],
        ['c@example.test', 452],
      ]);
    });
  });

  it('recipientError is nodemailer’s per-recipient error, the SmtpError its cause', () => {
    const mapped = recipientError('b@example.test', makeReply(550, ['5.1.1 no', 'such user']));
    expect(mapped).to.include({ code: 'EENVELOPE', command: 'RCPT TO', recipient: 'b@example.test', response: '550-5.1.1 no\n550 such user' });
    expect(mapped.message).to.equal('Recipient command failed: 550-5.1.1 no\n550 such user');
    expect(mapped.cause.code).to.equal('ESERVERPERM');
  });

  it('an error carries only the fields that apply: none is present and undefined', () => {
    expect(Object.keys(nodemailerError(new SmtpError('ESHUTDOWN', 'closed'), 'send')).sort()).to.deep.equal(['code', 'command']);
  });

  describe('phaseOf tells a pool outcome’s failure by the command it answered', () => {
    const cases: [SmtpError, string][] = [
      [replied(535, 'no', 'AUTH LOGIN'), 'auth'],
      [new SmtpError('EPROTO', 'bad SCRAM signature'), 'auth'],
      [replied(550, 'no', 'EHLO x'), 'connect'],
      [replied(454, 'no', 'STARTTLS'), 'connect'],
      [replied(554, 'no'), 'connect'],
      [replied(550, 'no', 'MAIL FROM'), 'send'],
      [new SmtpError('ETIMEDOUT', 'silent'), 'send'],
    ];
    for (const [error, phase] of cases) {
      it(`${error.command ?? error.code}: ${phase}`, () => {
        expect(phaseOf(error)).to.equal(phase);
      });
    }
  });

  describe('withDeadlines', () => {
    let clock: sinon.SinonFakeTimers;
    let state$: BehaviorSubject<SessionState>;
    beforeEach(() => {
      clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
      state$ = new BehaviorSubject<SessionState>({ status: 'idle', secure: false });
    });
    afterEach(() => clock.restore());

    const outcome = (promise: Promise<unknown>) => promise.then(() => 'completed', (err: unknown) => err);

    it('fails with GREETING_TIMEOUT when the greeting takes longer than greetingTimeout, not before', async () => {
      const result = outcome(lastValueFrom(NEVER.pipe(withDeadlines(state$, { greetingTimeout: 1_000 }))));
      state$.next({ status: 'connecting', secure: false });
      clock.tick(5_000); // connecting does not count
      state$.next({ status: 'greeting', secure: false });
      clock.tick(999);
      state$.next({ status: 'greeting', secure: false }); // the same status again does not restart it
      clock.tick(1);
      const error = (await result) as SmtpError;
      expect(nodemailerError(error, 'connect')).to.include({ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', message: 'Greeting never received' });
    });

    it('lets a greeting in time through, and connectionTimeout stops counting at AUTH', async () => {
      const result = outcome(lastValueFrom(NEVER.pipe(withDeadlines(state$, { greetingTimeout: 1_000, connectionTimeout: 2_000 }))));
      state$.next({ status: 'greeting', secure: false });
      clock.tick(999);
      state$.next({ status: 'ehlo', secure: false });
      state$.next({ status: 'authenticating', secure: false });
      clock.tick(60_000);
      let settled = false;
      void result.then(() => (settled = true));
      await Promise.resolve();
      expect(settled).to.equal(false);
    });

    it('fails with CONNECT_TIMEOUT when the setup takes longer than connectionTimeout', async () => {
      const result = outcome(lastValueFrom(NEVER.pipe(withDeadlines(state$, { connectionTimeout: 2_000 }))));
      state$.next({ status: 'connecting', secure: false });
      clock.tick(2_000);
      const error = (await result) as SmtpError;
      expect(nodemailerError(error, 'connect')).to.include({ code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT', message: 'Connection timeout' });
    });

    it('leaves no timer behind once the connect ends', async () => {
      state$.next({ status: 'greeting', secure: false });
      expect(await lastValueFrom(of('connected').pipe(withDeadlines(state$, { greetingTimeout: 1_000, connectionTimeout: 2_000 })))).to.equal('connected');
      expect(clock.countTimers()).to.equal(0);
    });
  });
});
