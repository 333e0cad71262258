import { expect } from 'chai';
import { type SmtpError } from '../../lib/errors';
import { SendAllError } from '../../lib/send/send-all-error';
import type { SendOutcome } from '../../lib/mail/mail';
import { errorOf, harness, hostileSuite, watch } from './harness';
import { converse, type Answer } from './hostile-server';

// Guarantee 1, "any reply code to any command": each reply below is one the command cannot take
// (or a refusal); each must end in exactly the outcome given, with QUIT only to a server still in step.

/** One row: what the server answers to which command, and what must come of it. */
interface Row {
  /** The verb answered badly (`greeting`, `EHLO`, ..., `.` for the end of data). */
  to: string;
  reply: string;
  code: string;
  /** Whether the client may still say QUIT (it is in step, and the server did not say 421). */
  quit: boolean;
}

const row = (to: string, reply: string, code: string, quit = false): Row => ({ to, reply: `${reply}\r\n`, code, quit });

const CONNECT_ROWS: Row[] = [
  row('greeting', '221 bye already', 'ESERVERSYNC'),
  row('greeting', '354 start mail input', 'ESERVERSYNC'),
  row('greeting', '421 4.3.2 shutting down', 'ESERVERTEMP'),
  row('greeting', '500 5.5.1 what', 'ESERVERPERM', true),
  row('greeting', '554 5.7.1 no service', 'ESERVERPERM', true),
  row('EHLO', '221 bye', 'ESERVERSYNC'),
  row('EHLO', '354 go ahead', 'ESERVERSYNC'),
  row('EHLO', '421 4.3.2 bye', 'ESERVERTEMP'),
  row('EHLO', '530 5.7.0 must issue STARTTLS first', 'ESERVERPERM', true),
  row('EHLO', '554 5.7.1 go away', 'ESERVERPERM', true),
  row('STARTTLS', '250 ok (but no TLS)', 'ESERVERSYNC'),
  row('STARTTLS', '354 go ahead', 'ESERVERSYNC'),
  row('STARTTLS', '221 bye', 'ESERVERSYNC'),
  row('AUTH', '250 ok', 'ESERVERSYNC'),
  row('AUTH', '354 go ahead', 'ESERVERSYNC'),
  row('AUTH', '421 4.7.0 too many', 'ESERVERTEMP'),
  row('AUTH', '530 5.7.0 auth required', 'ESERVERPERM', true),
  row('AUTH', '554 5.7.1 denied', 'ESERVERPERM', true),
];

/** Codes that end the whole sendAll (and close at once); 4xx/5xx other than 421 only fail the mail. */
const SEND_ROWS: Row[] = [
  row('MAIL', '221 bye', 'ESERVERSYNC'),
  row('MAIL', '354 go ahead', 'ESERVERSYNC'),
  row('MAIL', '421 4.3.2 bye', 'ESERVERTEMP'),
  row('RCPT', '221 bye', 'ESERVERSYNC'),
  row('RCPT', '354 go ahead', 'ESERVERSYNC'),
  row('DATA', '250 ok', 'ESERVERSYNC'),
  row('DATA', '221 bye', 'ESERVERSYNC'),
  row('.', '354 go ahead', 'ESERVERSYNC'),
  row('.', '221 bye', 'ESERVERSYNC'),
  row('.', '421 4.3.2 bye', 'ESERVERTEMP'),
];

const PER_MAIL_ROWS: Row[] = [
  row('MAIL', '500 5.5.1 what', 'ESERVERPERM'),
  row('MAIL', '530 5.7.0 auth required', 'ESERVERPERM'),
  row('MAIL', '554 5.7.1 no', 'ESERVERPERM'),
  row('RCPT', '554 5.7.1 no', 'ESERVERPERM'),
  row('DATA', '554 5.5.1 no valid recipients', 'ESERVERPERM'),
  row('.', '554 5.7.1 spam', 'ESERVERPERM'),
];

const MAIL = { from: 'a@example.test', to: 'b@example.test', body: 'Subject: t\r\n\r\nhi\r\n' };

describe('hostile: any reply code to any command ends in a definite outcome', () => {
  hostileSuite();
  const h = harness();

  describe('during connect', () => {
    for (const { to, reply, code, quit } of CONNECT_ROWS) {
      it(`${reply.trim()} to ${to}: ${code}${quit ? ', then QUIT' : ', closed without QUIT'}`, async () => {
        const capabilities = to === 'STARTTLS' ? ['STARTTLS'] : to === 'AUTH' ? ['AUTH PLAIN'] : [];
        const server = await h.server((peer) => converse(peer, { capabilities, answers: { [to]: reply } }));
        const session = h.session({ tls: to === 'STARTTLS' ? 'starttls' : 'none', allowInsecureAuth: true });
        const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }, 'alice', 's3cret'));
        expect(error.code).to.equal(code);
        expect(error.reply?.code).to.equal(Number(reply.slice(0, 3)));
        await server.peers[0]!.closed;
        expect(server.lines.includes('QUIT')).to.equal(quit);
        expect(session.state).to.include({ status: 'closed' });
        await h.expectReleased();
      });
    }
  });

  describe('during sendAll, ending the session', () => {
    for (const { to, reply, code } of SEND_ROWS) {
      it(`${reply.trim()} to ${to}: SendAllError ${code}, closed without QUIT`, async () => {
        const server = await h.server((peer) => converse(peer, { capabilities: ['PIPELINING'], answers: { [to]: reply } }));
        const session = await h.connected(server);
        const sending = watch(session.sendAll([MAIL]));
        await sending.ended;
        // A 421 to the end of data refuses the mail outright: an ok: false outcome, not uncertain; and
        // with every mail's fate known, the call completes (the session then closes with the 421).
        const refused = to === '.' && reply.startsWith('421');
        expect(sending.values.map((o: SendOutcome) => (o.ok ? 'ok' : o.error.code))).to.deep.equal(refused ? [code] : []);
        if (refused) {
          expect(sending.error).to.equal(undefined);
        } else {
          const error = sending.error as SmtpError;
          expect(error).to.be.instanceOf(SendAllError);
          expect(error.code).to.equal(code);
          const { delivered, uncertain, notSent } = error as SendAllError;
          expect(delivered).to.deep.equal([]);
          expect(uncertain).to.deep.equal(to === '.' ? [{ index: 0, mail: MAIL }] : []);
          expect(notSent).to.deep.equal(to === '.' ? [] : [{ index: 0, mail: MAIL }]);
        }
        await server.peers[0]!.closed;
        expect(server.lines).to.not.include('QUIT');
        expect(session.state.error?.code).to.equal(code);
        await h.expectReleased();
      });
    }
  });

  describe('during sendAll, failing one mail only', () => {
    for (const { to, reply, code } of PER_MAIL_ROWS) {
      it(`${reply.trim()} to ${to}: that mail fails with ${code}, the next is sent`, async () => {
        let first = true;
        const once: Answer = async (line, peer) => {
          const answer = first ? reply : line === '.' ? '250 ok\r\n' : to === 'DATA' ? '354 go\r\n' : '250 ok\r\n';
          first = false;
          await peer.send(answer);
          if (to === 'DATA' && answer.startsWith('354')) {
            await peer.data();
            await peer.send('250 ok\r\n');
          }
        };
        const server = await h.server((peer) => converse(peer, { answers: { [to]: once } }));
        const session = await h.connected(server);
        const sending = watch(session.sendAll([MAIL, { ...MAIL, to: 'c@example.test' }]));
        await sending.ended;
        expect(sending.error).to.equal(undefined);
        expect(sending.values.map((o: SendOutcome) => (o.ok ? 'ok' : o.error.code))).to.deep.equal([code, 'ok']);
        expect(session.state.status).to.equal('connected');
      });
    }
  });

  describe('to NOOP, RSET and QUIT', () => {
    const cases: [string, string, string, 'closed' | 'connected'][] = [
      ['NOOP', '354 go ahead', 'ESERVERSYNC', 'closed'],
      ['NOOP', '221 bye', 'ESERVERSYNC', 'closed'],
      ['NOOP', '500 5.5.1 what', 'ESERVERPERM', 'connected'],
      ['RSET', '354 go ahead', 'ESERVERSYNC', 'closed'],
      ['RSET', '421 4.3.2 bye', 'ESERVERTEMP', 'closed'],
      ['QUIT', '500 5.5.1 what', 'ESERVERPERM', 'closed'],
      ['QUIT', '354 go ahead', 'ESERVERSYNC', 'closed'],
    ];
    for (const [verb, reply, code, after] of cases) {
      it(`${reply} to ${verb}: ${code}, and the session is ${after}`, async () => {
        const server = await h.server((peer) => converse(peer, { answers: { [verb]: `${reply}\r\n` } }));
        const session = await h.connected(server);
        const call = verb === 'NOOP' ? session.noop() : verb === 'RSET' ? session.reset() : session.quit();
        const error = await errorOf(call);
        expect(error.code).to.equal(code);
        expect(session.state.status).to.equal(after);
        if (after === 'closed') await h.expectReleased();
      });
    }
  });
});
