import { expect } from 'chai';
import { CA, tlsScriptedServer, type TlsScriptedServer } from '../fixtures/tls-scripted-server';
import { errorOf, harness, hostileSuite, watch } from './harness';
import { GREETING, converse, ehloReply } from './hostile-server';

// Guarantee 5, what test/dialogue/starttls.test.ts and test/session/tls-modes.test.ts leave out:
// a 220 trickled byte by byte before the injection, a STARTTLS offered again inside TLS, a server
// that hangs up on the upgrade, implicit TLS met with plain text, AUTH offered only in clear.

const HANDSHAKE_RECORD = 0x16;
const EHLO = 'EHLO client.test';

describe('hostile: TLS upgrades that cannot be subverted', () => {
  hostileSuite();
  let tlsServer: TlsScriptedServer | undefined;
  // Before the harness's hooks, so that the server is closed when they check for leaks.
  afterEach(async () => {
    await tlsServer?.close();
    tlsServer = undefined;
  });
  const h = harness();

  const options = { tls: 'starttls' as const, clientName: 'client.test', tlsOptions: { ca: CA } };

  it('a 220 to STARTTLS trickled one byte per segment, then injected text: ESERVERSYNC, nothing more in clear', async () => {
    const server = await h.server((peer) =>
      converse(peer, {
        capabilities: ['STARTTLS', 'AUTH PLAIN'],
        answers: { STARTTLS: async (_l, p) => (await p.trickle('220 go ahead\r\n'), await p.send('250-injected\r\n'), p.closed) },
      }),
    );
    const session = h.session(options);
    const replies: number[] = [];
    session.replies$.subscribe((r) => replies.push(r.code));
    const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }, 'alice', 's3cret'));
    expect(error.code).to.equal('ESERVERSYNC');
    await server.peers[0]!.closed;
    expect(server.lines).to.deep.equal([EHLO, 'STARTTLS']);
    const raw = server.peers[0]!.raw;
    const after = raw.subarray(raw.indexOf('STARTTLS\r\n') + 'STARTTLS\r\n'.length);
    if (after.length > 0) expect(after[0]).to.equal(HANDSHAKE_RECORD);
    expect(replies).to.deep.equal([220, 250, 220]);
    await h.expectReleased();
  });

  it('a server that hangs up right after its 220: an error, never a plain-text retry or AUTH', async () => {
    const server = await h.server((peer) =>
      converse(peer, { capabilities: ['STARTTLS', 'AUTH PLAIN'], answers: { STARTTLS: async (_l, p) => (await p.send('220 go\r\n'), p.destroy()) } }),
    );
    const error = await errorOf(h.session(options).connect({ host: '127.0.0.1', port: server.port }, 'alice', 's3cret'));
    expect(['ESHUTDOWN', 'ECONNRESET']).to.include(error.code);
    expect(server.peers).to.have.length(1);
    expect(server.lines).to.deep.equal([EHLO, 'STARTTLS']);
    await h.expectReleased();
  });

  it('a fragment of text shorter than a TLS record header after the 220, then a hang-up: an error, never a reply', async () => {
    const server = await h.server((peer) =>
      converse(peer, {
        capabilities: ['STARTTLS', 'AUTH PLAIN'],
        answers: { STARTTLS: async (_l, p) => (await p.send('220 go\r\n'), await p.send('25'), p.end()) },
      }),
    );
    const session = h.session(options);
    const replies: number[] = [];
    session.replies$.subscribe((r) => replies.push(r.code));
    const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }, 'alice', 's3cret'));
    // In the 220's packet the reply stream refuses it; after it, TLS waits for a record that never comes.
    // (With the fragment in its packet, the 220 itself is refused, not emitted.)
    expect(['ESERVERSYNC', 'ECONNRESET', 'ESHUTDOWN']).to.include(error.code);
    expect([[220, 250], [220, 250, 220]]).to.deep.include(replies);
    expect(server.lines).to.deep.equal([EHLO, 'STARTTLS']);
    await h.expectReleased();
  });

  it('implicit TLS met with a plain-text greeting: a TLS error, the greeting never read as a reply', async () => {
    const server = await h.server((peer) => converse(peer));
    const session = h.session({ ...options, tls: 'implicit' });
    const replies: number[] = [];
    session.replies$.subscribe((r) => replies.push(r.code));
    const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }));
    expect(error.code).to.match(/^ERR_SSL_|^EPROTO$|^ECONNRESET$/);
    expect(replies).to.deep.equal([]);
    await server.peers[0]!.closed;
    expect(server.peers[0]!.raw[0]).to.equal(HANDSHAKE_RECORD);
    expect(server.lines).to.deep.equal([]);
    await h.expectReleased();
  });

  it('AUTH offered only before TLS is forgotten after it: ENOTSUP, no AUTH on either side of the upgrade', async () => {
    tlsServer = await tlsScriptedServer([
      { send: GREETING },
      { expect: EHLO, send: ehloReply(['STARTTLS', 'AUTH PLAIN LOGIN']) },
      { expect: 'STARTTLS', send: '220 go\r\n' },
      { startTls: true },
      { expect: EHLO, send: ehloReply(['SIZE 1000']) },
    ]);
    const session = h.session(options);
    const error = await errorOf(session.connect({ host: 'localhost', port: tlsServer.port }, 'alice', 's3cret'));
    expect(error.code).to.equal('ENOTSUP');
    expect(error.message).to.match(/no AUTH mechanism/);
    await tlsServer.clientClosed;
    expect(tlsServer.lines.filter((l) => l.startsWith('AUTH'))).to.deep.equal([]);
    expect(tlsServer.failures).to.deep.equal([]);
  });

  it('STARTTLS offered again inside TLS is not taken: one upgrade, then AUTH inside it', async () => {
    tlsServer = await tlsScriptedServer([
      { send: GREETING },
      { expect: EHLO, send: ehloReply(['STARTTLS']) },
      { expect: 'STARTTLS', send: '220 go\r\n' },
      { startTls: true },
      { expect: EHLO, send: ehloReply(['STARTTLS', 'AUTH PLAIN']) },
      { expect: /^AUTH PLAIN /, send: '235 ok\r\n' },
    ]);
    const session = h.session(options);
    const connecting = watch(session.connect({ host: 'localhost', port: tlsServer.port }, 'alice', 's3cret'));
    await connecting.ended;
    expect(connecting.error).to.equal(undefined);
    expect(session.state).to.include({ status: 'connected', secure: true });
    expect(tlsServer.lines.map((l) => l.split(' ')[0])).to.deep.equal(['EHLO', 'STARTTLS', 'EHLO', 'AUTH']);
    expect(tlsServer.failures).to.deep.equal([]);
  });
});
