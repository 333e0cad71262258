import { expect } from 'chai';
import { filter, firstValueFrom } from 'rxjs';
import { SendAllError } from '../../lib/send/send-all-error';
import type { SendOutcome } from '../../lib/mail/mail';
import { errorOf, harness, hostileSuite, watch } from './harness';
import { GREETING, converse, ehloReply } from './hostile-server';

// Guarantee 1: garbage, replies before any command, replies to nothing, extra and missing replies
// under PIPELINING, endless AUTH challenges: each ends in one definite outcome.

const MAIL = { from: 'a@example.test', to: 'b@example.test', body: 'Subject: t\r\n\r\nhi\r\n' };
const base64 = (text: string): string => Buffer.from(text).toString('base64');

describe('hostile: garbage and replies out of turn', () => {
  hostileSuite();
  const h = harness();

  describe('garbage', () => {
    it('an HTTP answer instead of a greeting: ESERVERSYNC, nothing written', async () => {
      const server = await h.server((peer) => converse(peer, { answers: { greeting: 'HTTP/1.1 400 Bad Request\r\n\r\n' } }));
      const error = await errorOf(h.session().connect({ host: '127.0.0.1', port: server.port }));
      expect(error.code).to.equal('ESERVERSYNC');
      await server.peers[0]!.closed;
      expect(server.peers[0]!.raw.length).to.equal(0);
      await h.expectReleased();
    });

    it('a TLS record instead of a greeting: ESERVERSYNC, nothing written', async () => {
      const server = await h.server((peer) => converse(peer, { answers: { greeting: `${Buffer.from('160301002a0200002603', 'hex').toString('latin1')}\r\n` } }));
      const error = await errorOf(h.session().connect({ host: '127.0.0.1', port: server.port }));
      expect(error.code).to.equal('ESERVERSYNC');
      await server.peers[0]!.closed;
      expect(server.peers[0]!.raw.length).to.equal(0);
    });

    it('random bytes instead of the reply to MAIL: SendAllError ESERVERSYNC, the mail not sent, no QUIT', async () => {
      const server = await h.server((peer) => converse(peer, { answers: { MAIL: '\u0000\u00ff\u0007garbage\r\n' } }));
      const session = await h.connected(server);
      const error = await errorOf(session.sendAll([MAIL]));
      expect(error).to.be.instanceOf(SendAllError);
      expect(error.code).to.equal('ESERVERSYNC');
      expect((error as SendAllError).notSent.map((r) => r.mail)).to.deep.equal([MAIL]);
      await server.peers[0]!.closed;
      expect(server.lines.map((l) => l.split(':')[0])).to.deep.equal(['EHLO [127.0.0.1]', 'MAIL FROM']);
      await h.expectReleased();
    });

    it('a 250 whose lines change code mid-reply: ESERVERSYNC', async () => {
      const server = await h.server((peer) => converse(peer, { answers: { EHLO: '250-hostile.test\r\n550-PIPELINING\r\n250 SIZE\r\n' } }));
      const error = await errorOf(h.session().connect({ host: '127.0.0.1', port: server.port }));
      expect(error.code).to.equal('ESERVERSYNC');
      expect(server.lines).to.not.include('QUIT');
    });
  });

  describe('replies before any command', () => {
    it('a 250 in the greeting’s segment is a reply to nothing, never the EHLO reply: ESERVERSYNC', async () => {
      const server = await h.server((peer) =>
        converse(peer, { capabilities: ['STARTTLS'], answers: { greeting: `${GREETING}${ehloReply([])}` } }),
      );
      const session = h.session({ tls: 'starttls' });
      const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }));
      expect(error.code).to.equal('ESERVERSYNC');
      expect(error.message).to.match(/reply to no command/);
      expect(session.capabilities).to.equal(null);
      await server.peers[0]!.closed;
      expect(server.lines).to.not.include('QUIT');
      await h.expectReleased();
    });

    it('a 220 to STARTTLS sent with the EHLO reply, before STARTTLS was asked: ESERVERSYNC, no handshake', async () => {
      const server = await h.server((peer) =>
        converse(peer, { answers: { EHLO: `${ehloReply(['STARTTLS'])}220 go ahead\r\n`, STARTTLS: async (_l, p) => p.closed } }),
      );
      const session = h.session({ tls: 'starttls' });
      const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }));
      expect(error.code).to.equal('ESERVERSYNC');
      expect(error.reply?.code).to.equal(220);
      await server.peers[0]!.closed;
      // The 220 answers nothing: the session ends before STARTTLS (written in the same turn) leaves, and no ClientHello either.
      expect(server.peers[0]!.raw.toString('latin1')).to.match(/^EHLO [^\r]*\r\n$/);
      await h.expectReleased();
    });

    it('replies to MAIL, RCPT and DATA sent with the EHLO reply: the session closes with ESERVERSYNC at once', async () => {
      const early = `${ehloReply([])}250 ok\r\n250 ok\r\n354 go\r\n`;
      const server = await h.server((peer) => converse(peer, { answers: { EHLO: early } }));
      const session = h.session();
      const closed = firstValueFrom(session.state$.pipe(filter((s) => s.status === 'closed')));
      session.connect({ host: '127.0.0.1', port: server.port }).subscribe({ error: () => {} });
      const state = await closed;
      expect(state.error?.code).to.equal('ESERVERSYNC');
      expect(state.error?.reply?.code).to.equal(250);
      expect((await errorOf(session.send(MAIL))).code).to.equal('EPERM');
      expect(server.lines).to.deep.equal(['EHLO [127.0.0.1]']);
    });
  });

  describe('replies to nothing', () => {
    it('a 250 while the session is idle: closed with ESERVERSYNC, no QUIT, and send is then EPERM', async () => {
      let speak!: () => void;
      const spoken = new Promise<void>((resolve) => (speak = resolve));
      const server = await h.server((peer) =>
        converse(peer, { answers: { NOOP: async (_l, p) => (await p.send('250 ok\r\n'), await spoken, p.send('250 unasked\r\n')) } }),
      );
      const session = await h.connected(server);
      await firstValueFrom(session.noop());
      const closed = firstValueFrom(session.state$.pipe(filter((s) => s.status === 'closed')));
      speak();
      const state = await closed;
      expect(state.error?.code).to.equal('ESERVERSYNC');
      expect((await errorOf(session.send(MAIL))).code).to.equal('EPERM');
      expect(server.lines).to.not.include('QUIT');
      await h.expectReleased();
    });

    it('an unasked 421 while idle: closed with ESERVERTEMP (the server’s own goodbye)', async () => {
      const server = await h.server((peer) => converse(peer, { answers: { NOOP: '250 ok\r\n421 4.4.2 idle too long\r\n' } }));
      const session = await h.connected(server);
      const closed = firstValueFrom(session.state$.pipe(filter((s) => s.status === 'closed')));
      await firstValueFrom(session.noop());
      const state = await closed;
      expect(state.error?.code).to.equal('ESERVERTEMP');
      expect(state.error?.reply?.code).to.equal(421);
      await h.expectReleased();
    });
  });

  describe('extra and missing replies under PIPELINING', () => {
    it('an extra 354 after the pipelined MAIL, RCPT and DATA replies: ESERVERSYNC before any content is written', async () => {
      const server = await h.server((peer) =>
        converse(peer, {
          capabilities: ['PIPELINING'],
          answers: { MAIL: '', RCPT: '', DATA: async (_l, p) => (await p.send('250 ok\r\n250 ok\r\n354 go\r\n354 again\r\n'), p.closed) },
        }),
      );
      const session = await h.connected(server);
      const error = await errorOf(session.sendAll([MAIL]));
      expect(error.code).to.equal('ESERVERSYNC');
      expect((error as SendAllError).notSent.map((r) => r.mail)).to.deep.equal([MAIL]);
      await server.peers[0]!.closed;
      expect(server.peers[0]!.raw.toString()).to.not.include('Subject: t');
    });

    it('the end of data answered twice: the first mail delivered, the second not sent, ESERVERSYNC', async () => {
      const server = await h.server((peer) => converse(peer, { capabilities: ['PIPELINING'], answers: { '.': '250 ok\r\n250 ok again\r\n' } }));
      const session = await h.connected(server);
      const second = { ...MAIL, to: 'c@example.test' };
      const sending = watch(session.sendAll([MAIL, second]));
      await sending.ended;
      const error = sending.error as SendAllError;
      expect(error.code).to.equal('ESERVERSYNC');
      expect(sending.values.map((o: SendOutcome) => o.ok)).to.deep.equal([true]);
      expect({ delivered: error.delivered, uncertain: error.uncertain, notSent: error.notSent }).to.deep.equal({
        delivered: [0],
        uncertain: [],
        notSent: [{ index: 1, mail: second }],
      });
    });

    it('the reply to RCPT missing: the 354 taken for it is ESERVERSYNC, the mail not sent', async () => {
      const server = await h.server((peer) =>
        converse(peer, { capabilities: ['PIPELINING'], answers: { RCPT: '', DATA: async (_l, p) => (await p.send('354 go\r\n'), p.closed) } }),
      );
      const session = await h.connected(server);
      const error = await errorOf(session.sendAll([MAIL]));
      expect(error.code).to.equal('ESERVERSYNC');
      expect(error.reply?.code).to.equal(354);
      expect((error as SendAllError).notSent.map((r) => r.mail)).to.deep.equal([MAIL]);
    });
  });

  describe('endless AUTH challenges', () => {
    it('LOGIN challenged a third time: cancelled with "*", EPROTO, nothing more written', async () => {
      const server = await h.server((peer) =>
        converse(peer, { capabilities: ['AUTH LOGIN'], answers: { AUTH: async (_l, p) => { for (let line: string | undefined = ''; line !== undefined; line = await p.line()) await p.send(`334 ${base64('More:')}\r\n`); } } }),
      );
      const session = h.session({ allowInsecureAuth: true });
      const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }, 'alice', 's3cret'));
      expect(error.code).to.equal('EPROTO');
      await server.peers[0]!.closed;
      expect(server.lines).to.deep.equal(['EHLO [127.0.0.1]', 'AUTH LOGIN', base64('alice'), base64('s3cret'), '*']);
      await h.expectReleased();
    });

    it('PLAIN challenged after its initial response: "*", EPROTO', async () => {
      const server = await h.server((peer) =>
        converse(peer, { capabilities: ['AUTH PLAIN'], answers: { AUTH: async (_l, p) => { for (let line: string | undefined = ''; line !== undefined; line = await p.line()) await p.send(`334 ${base64('again')}\r\n`); } } }),
      );
      const session = h.session({ allowInsecureAuth: true });
      const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }, 'alice', 's3cret'));
      expect(error.code).to.equal('EPROTO');
      await server.peers[0]!.closed;
      expect(server.lines.slice(2)).to.deep.equal(['*']);
    });

    it('a challenge that is not base64: "*", EPROTO', async () => {
      const server = await h.server((peer) =>
        converse(peer, { capabilities: ['AUTH LOGIN'], answers: { AUTH: async (_l, p) => (await p.send('334 \u001b[2J not base64!\r\n'), await p.line(), p.send('501 cancelled\r\n')) } }),
      );
      const session = h.session({ allowInsecureAuth: true });
      const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }, 'alice', 's3cret'));
      expect(error.code).to.equal('EPROTO');
      expect(server.lines.slice(1)).to.deep.equal(['AUTH LOGIN', '*']);
    });
  });
});
