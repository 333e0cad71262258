import { expect } from 'chai';
import { SmtpError } from '../../lib/errors';
import type { Mail, SendOutcome } from '../../lib/mail/mail';
import { createSession } from '../../lib/session';
import { errorOf, harness, hostileSuite, watch } from './harness';
import { converse, type HostileServer } from './hostile-server';

// Guarantee 3: nothing the caller passes can add a command or a line on the wire. CR, LF, NUL and
// the characters that narrow to them are EINVAL before anything is written; DSN values are xtext.

/** CR, LF, NUL, and characters whose low byte is one of them (a stack that narrows would write it). */
const HOSTILE = ['\r', '\n', '\0', '\r\n', '\u010a', '\u010d', '\u0100'];
const show = (c: string): string => JSON.stringify(c);
const MAIL: Mail = { from: 'a@example.test', to: 'b@example.test', body: 'Subject: t\r\n\r\nhi\r\n' };
const base64 = (text: string): string => Buffer.from(text).toString('base64');

function thrown(fn: () => unknown): SmtpError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(SmtpError);
    return err as SmtpError;
  }
  throw new Error('expected EINVAL, but nothing was thrown');
}

describe('hostile: no injection from caller input', () => {
  hostileSuite();
  const h = harness();

  /** Sends the mails; every one must fail with EINVAL, and the server must see nothing after EHLO. */
  async function expectRefusedBeforeWriting(server: HostileServer, mails: Mail[]): Promise<void> {
    const session = await h.connected(server);
    const sending = watch(session.sendAll(mails));
    await sending.ended;
    expect(sending.error).to.equal(undefined);
    expect(sending.values.map((o: SendOutcome) => (o.ok ? 'ok' : o.error.code))).to.deep.equal(mails.map(() => 'EINVAL'));
    await watch(session.noop()).ended; // a command after them: whatever they wrote is before it
    expect(server.lines.slice(1)).to.deep.equal(['NOOP']);
  }

  describe('before any connection', () => {
    it('clientName (the EHLO argument) with CR, LF, NUL or a narrowing character: EINVAL', () => {
      for (const c of HOSTILE) {
        expect(thrown(() => createSession({ clientName: `client.example${c}RSET` })).code, show(c)).to.equal('EINVAL');
      }
    });

    it('authMechanisms with a line break: EINVAL', () => {
      expect(thrown(() => createSession({ authMechanisms: ['PLAIN\r\nRSET'] })).code).to.equal('EINVAL');
    });

    it('a server host with a line break: EINVAL, no connection', async () => {
      const server = await h.server((peer) => converse(peer));
      for (const host of ['127.0.0.1\r\nx', '127.0.0.1\0', 'localhost\u010a']) {
        expect((await errorOf(h.session().connect({ host, port: server.port }))).code, show(host)).to.equal('EINVAL');
      }
      expect(server.peers).to.have.length(0);
    });

    it('a user name or password with CR, LF or NUL: EINVAL, no connection', async () => {
      const server = await h.server((peer) => converse(peer, { capabilities: ['AUTH PLAIN LOGIN'] }));
      for (const c of ['\r', '\n', '\0', '\r\n']) {
        const user = await errorOf(h.session().connect({ host: '127.0.0.1', port: server.port }, `alice${c}QUIT`, 's3cret'));
        const password = await errorOf(h.session().connect({ host: '127.0.0.1', port: server.port }, 'alice', `s3cret${c}QUIT`));
        expect([user.code, password.code], show(c)).to.deep.equal(['EINVAL', 'EINVAL']);
      }
      expect(server.peers).to.have.length(0);
    });
  });

  describe('credentials travel base64-encoded UTF-8: a narrowing character is carried, never narrowed', () => {
    it('a password with U+010A, U+010D and U+0100 reaches the server exactly, inside one base64 line', async () => {
      const password = 's\u010a3\u010dcr\u0100t';
      const server = await h.server((peer) => converse(peer, { capabilities: ['AUTH PLAIN'], answers: { AUTH: '235 ok\r\n' } }));
      await watch(h.session({ allowInsecureAuth: true }).connect({ host: '127.0.0.1', port: server.port }, 'alice', password)).ended;
      expect(server.lines[1]).to.equal(`AUTH PLAIN ${base64(`\0alice\0${password}`)}`);
      expect(server.peers[0]!.raw.toString('latin1').split('\r\n')).to.have.length(server.lines.length + 1);
    });
  });

  describe('in a mail, before MAIL FROM', () => {
    it('a sender with CR, LF, NUL or a narrowing character: EINVAL, nothing written', async () => {
      const server = await h.server((peer) => converse(peer));
      await expectRefusedBeforeWriting(server, HOSTILE.map((c) => ({ ...MAIL, from: `a${c}RSET@example.test` })));
    });

    it('a recipient with CR, LF, NUL or a narrowing character: EINVAL, nothing written', async () => {
      const server = await h.server((peer) => converse(peer));
      await expectRefusedBeforeWriting(server, HOSTILE.map((c) => ({ ...MAIL, to: ['ok@example.test', `b${c}DATA@example.test`] })));
    });

    it('an address that would add a parameter or close the path ("> SIZE=1", a space, "<"): EINVAL', async () => {
      const server = await h.server((peer) => converse(peer));
      await expectRefusedBeforeWriting(server, [
        { ...MAIL, from: 'a@example.test> SIZE=1' },
        { ...MAIL, to: 'b@example.test NOTIFY=NEVER' },
        { ...MAIL, to: '<b@example.test' },
      ]);
    });

    it('a SIZE that is not a non-negative integer (text, NaN, -1, 1.5, Infinity): EINVAL', async () => {
      const server = await h.server((peer) => converse(peer, { capabilities: ['SIZE 100000'] }));
      const sizes = ['1\r\nRSET', Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY] as unknown as number[];
      await expectRefusedBeforeWriting(server, sizes.map((size) => ({ ...MAIL, size })));
    });

    it('DSN RET and NOTIFY outside their keywords: EINVAL', async () => {
      const server = await h.server((peer) => converse(peer, { capabilities: ['DSN'] }));
      await expectRefusedBeforeWriting(server, [
        { ...MAIL, dsn: { ret: 'FULL\r\nRSET' as 'FULL' } },
        { ...MAIL, dsn: { notify: ['SUCCESS\r\n' as 'SUCCESS'] } },
      ]);
    });
  });

  describe('DSN values are xtext (RFC 3461 4)', () => {
    it('an ENVID with CR, LF, NUL, a space and narrowing characters goes out as one MAIL FROM parameter', async () => {
      const server = await h.server((peer) => converse(peer, { capabilities: ['DSN'] }));
      const session = await h.connected(server);
      await watch(session.send({ ...MAIL, dsn: { envid: 'id\r\nRSET\0 x=\u010a\u010d\u0100' } })).ended;
      expect(server.lines[1]).to.equal('MAIL FROM:<a@example.test> ENVID=id+0D+0ARSET+00+20x+3D+C4+8A+C4+8D+C4+80');
      expect(server.lines.slice(2)).to.deep.equal(['RCPT TO:<b@example.test>', 'DATA']);
    });

    it('an ORCPT of a quoted local part with a space, "+" and "=" cannot add a parameter', async () => {
      const server = await h.server((peer) => converse(peer, { capabilities: ['DSN'] }));
      const session = await h.connected(server);
      await watch(session.send({ ...MAIL, to: '"b NOTIFY=NEVER+"@example.test', dsn: { orcpt: true } })).ended;
      expect(server.lines[2]).to.equal('RCPT TO:<"b NOTIFY=NEVER+"@example.test> ORCPT=rfc822;"b+20NOTIFY+3DNEVER+2B"@example.test');
    });
  });
});
