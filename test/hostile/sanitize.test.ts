import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { MAX_DISPLAY_LENGTH } from '../../lib/reply/sanitize';
import type { TranscriptLine } from '../../lib/transport/transcript';
import { errorOf, harness, hostileSuite, watch } from './harness';
import { converse, ehloReply } from './hostile-server';

// Guarantee 6: server text that reaches an error message, the transcript or the debug log has its
// control characters (ANSI escapes with them) replaced and is cut to MAX_DISPLAY_LENGTH.

/** C0 and C1 controls and DEL, and the Unicode line separators and bidi overrides that forge lines. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');
const HOSTILE_TEXT = 'red\u001b[31m bell\u0007 nul\u0000 csi\u009b2J sep\u2028fake line rlo\u202eevil';

describe('hostile: server text is disarmed before it is shown', () => {
  hostileSuite();
  const h = harness();

  it('an error message from a hostile greeting has no control character; the escape shows as U+FFFD', async () => {
    const server = await h.server((peer) => converse(peer, { answers: { greeting: `554 ${HOSTILE_TEXT}\r\n` } }));
    const error = await errorOf(h.session().connect({ host: '127.0.0.1', port: server.port }));
    expect(error.code).to.equal('ESERVERPERM');
    expect(error.message).to.not.match(UNSAFE);
    expect(error.message).to.contain('red\ufffd[31m bell\ufffd nul\ufffd csi\ufffd2J');
  });

  it('the transcript shows the server’s lines disarmed', async () => {
    const server = await h.server((peer) => converse(peer, { answers: { EHLO: `250-hostile.test ${HOSTILE_TEXT}\r\n250 X-${HOSTILE_TEXT}\r\n` } }));
    const session = h.session();
    const transcript: TranscriptLine[] = [];
    session.transcript$.subscribe((t) => transcript.push(t));
    await watch(session.connect({ host: '127.0.0.1', port: server.port })).ended;
    const fromServer = transcript.filter((t) => t.direction === 'server').map((t) => t.line);
    expect(fromServer[2]).to.equal(`250 X-${HOSTILE_TEXT.replace(UNSAFE_ALL, '\ufffd')}`);
    for (const line of fromServer) expect(line).to.not.match(UNSAFE);
  });

  it(`a long reply is cut to ${MAX_DISPLAY_LENGTH} characters in the message and in the transcript`, async () => {
    const server = await h.server((peer) => converse(peer, { answers: { greeting: `554 ${'z'.repeat(4000)}\r\n` } }));
    const session = h.session();
    const transcript: string[] = [];
    session.transcript$.subscribe((t) => transcript.push(t.line));
    const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }));
    expect(error.message).to.match(/z…$/);
    expect(error.message.length).to.be.at.most(MAX_DISPLAY_LENGTH + 40);
    expect(transcript[0]).to.have.length(MAX_DISPLAY_LENGTH + 1);
  });

  it('a 256-line refusal to MAIL is cut to one short message', async () => {
    const refusal = `${Array.from({ length: 255 }, (_, i) => `550-${i} ${'w'.repeat(200)}\r\n`).join('')}550 end\r\n`;
    const server = await h.server((peer) => converse(peer, { answers: { MAIL: refusal } }));
    const session = await h.connected(server);
    const error = await errorOf(session.send({ from: 'a@example.test', to: 'b@example.test', body: 'x\r\n' }));
    expect(error.code).to.equal('ESERVERPERM');
    expect(error.message.length).to.be.at.most(MAX_DISPLAY_LENGTH + 40);
  });

  it('a malformed line quoted in ESERVERSYNC is disarmed and cut short', async () => {
    const server = await h.server((peer) => converse(peer, { answers: { greeting: `\u001b]0;pwned\u0007${'q'.repeat(300)}\r\n` } }));
    const error = await errorOf(h.session().connect({ host: '127.0.0.1', port: server.port }));
    expect(error.code).to.equal('ESERVERSYNC');
    expect(error.message).to.not.match(UNSAFE);
    expect(error.message.length).to.be.below(200);
  });

  it('a reply to nothing quoted in ESERVERSYNC is disarmed', async () => {
    const server = await h.server((peer) => converse(peer, { answers: { greeting: `220 hi\r\n250 ${HOSTILE_TEXT}\r\n` } }));
    const error = await errorOf(h.session().connect({ host: '127.0.0.1', port: server.port }));
    expect(error.message).to.match(/^reply to no command/);
    expect(error.message).to.not.match(UNSAFE);
  });

  it('AUTH mechanisms the server lists, quoted in ENOTSUP, are disarmed and cut short', async () => {
    const server = await h.server((peer) => converse(peer, { capabilities: [`AUTH X-\u001b[5m ${'M'.repeat(2000)} ${HOSTILE_TEXT}`] }));
    const session = h.session({ allowInsecureAuth: true });
    const error = await errorOf(session.connect({ host: '127.0.0.1', port: server.port }, 'alice', 's3cret'));
    expect(error.code).to.equal('ENOTSUP');
    expect(error.message).to.not.match(UNSAFE);
    expect(error.message.length).to.be.at.most(MAX_DISPLAY_LENGTH + 200);
  });

  it('the debug log (NODE_DEBUG=rx-smtp) shows a hostile reply disarmed', async () => {
    const server = await h.server((peer) => converse(peer, { answers: { EHLO: `${ehloReply([])}`, greeting: `554 ${HOSTILE_TEXT}\r\n` } }));
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'debug-child.ts')], {
      env: { ...process.env, NODE_DEBUG: 'rx-smtp', PORT: String(server.port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => child.on('close', resolve));
    const log = Buffer.concat(chunks).toString('utf8');
    expect(log).to.match(/RX-SMTP \d+: session \d+ S: 554 red\ufffd\[31m/);
    for (const line of log.split('\n')) expect(line).to.not.match(UNSAFE);
  });
});
