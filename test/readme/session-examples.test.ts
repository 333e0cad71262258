import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { SMTPServerOptions } from 'smtp-server';
import { ROOT } from '../fixtures/build';
import { closedPort } from '../fixtures/observe';
import { exampleCode, rewrite } from './blocks';
import { expectClean } from './expect-clean';
import { CA_PEM, linesOf, runExample, withBuiltPackage } from './run-example';
import { exampleServers, refuse } from './servers';

// The README's session examples, run as a reader runs them (see run-example.ts) against smtp-server
// in this process: each finishes by itself with exit 0, prints what the README says it prints, and
// the server received what it should. Where an example shows how to handle a failure, it also runs
// against a server that fails that way, and must still end cleanly: the error reported, nothing thrown.

describe('README examples: sessions', function () {
  this.timeout(90_000);
  const servers = exampleServers();
  withBuiltPackage();

  describe('Example (connect with state$ and transcript$)', () => {
    const URL = 'smtp://mail.example.com:587';

    it('connects over STARTTLS, logs in, quits; prints each state and the transcript, the password redacted', async () => {
      const server = await servers.start();
      const run = await runExample(rewrite(exampleCode('connect'), [[URL, server.url]]));

      expectClean(run);
      const lines = linesOf(run.stdout);
      const states = lines.filter((l) => l.startsWith('state ')).map((l) => l.trim());
      expect(states).to.deep.equal(['state idle', 'state connecting', 'state greeting', 'state ehlo', 'state starttls', 'state ehlo', 'state authenticating', 'state connected', 'state quitting', 'state closed']);
      expect(lines).to.include.members(['C: STARTTLS', 'C: AUTH PLAIN [redacted]', 'C: QUIT', 'reached connected']);
      expect(lines.filter((l) => l.startsWith('S: 235'))).to.have.length(1);
      expect(run.stdout).to.not.include('s3cret').and.not.include(Buffer.from('\0alice\0s3cret').toString('base64'));
      expect(run.stderr).to.equal('');
      expect(server.auths).to.deep.equal(['PLAIN alice']);
    });

    it('a wrong password: the 535 is reported by the error callback, the state shows it, nothing crashes', async () => {
      const server = await servers.start();
      const run = await runExample(rewrite(exampleCode('connect'), [[URL, server.url]]), { env: { SMTP_PASSWORD: 'wrong' } });

      expectClean(run);
      expect(linesOf(run.stdout)).to.include('state closed ESERVERPERM');
      expect(run.stderr).to.match(/^connect failed: ESERVERPERM .*535/);
    });
  });

  describe('TLS', () => {
    const SUBMISSION = 'smtp://smtp.example.com:587';
    const IMPLICIT = 'smtps://smtp.example.com:465';

    /** The TLS example against a STARTTLS server and an implicit-TLS one started with `options`; ca.pem is the test CA. */
    async function runTls(options: SMTPServerOptions = {}) {
      const submission = await servers.start(options);
      const implicit = await servers.start({ ...options, secure: true });
      const code = rewrite(exampleCode('tls'), [
        [SUBMISSION, submission.url],
        [IMPLICIT, implicit.url],
      ]);
      const run = await runExample(code, { files: { 'ca.pem': readFileSync(CA_PEM) } });
      return { run, submission, implicit };
    }

    it('logs in over STARTTLS (required) and over implicit TLS trusting ca.pem, certificates verified', async () => {
      const { run, submission, implicit } = await runTls();

      expectClean(run);
      expect(linesOf(run.stdout)).to.deep.equal([
        `${submission.url} logged in over TLSv1.3 (certificate verified)`,
        `${implicit.url} logged in over TLSv1.3 (certificate verified)`,
      ]);
      expect(run.stderr).to.equal('');
      expect([submission.auths, implicit.auths]).to.deep.equal([['PLAIN alice'], ['PLAIN alice']]);
    });

    it('a certificate for another host: ERR_TLS_CERT_ALTNAME_INVALID reported for each, no password sent', async () => {
      const { run, submission, implicit } = await runTls(certificate('wrong-host'));

      expectClean(run);
      expect(linesOf(run.stderr)).to.deep.equal([`${submission.url} failed: ERR_TLS_CERT_ALTNAME_INVALID`, `${implicit.url} failed: ERR_TLS_CERT_ALTNAME_INVALID`]);
      expect([submission.auths, implicit.auths]).to.deep.equal([[], []]);
    });

    it('a self-signed certificate: DEPTH_ZERO_SELF_SIGNED_CERT reported for each, no password sent', async () => {
      const { run, submission, implicit } = await runTls(certificate('self-signed'));

      expectClean(run);
      expect(linesOf(run.stderr)).to.deep.equal([`${submission.url} failed: DEPTH_ZERO_SELF_SIGNED_CERT`, `${implicit.url} failed: DEPTH_ZERO_SELF_SIGNED_CERT`]);
      expect([submission.auths, implicit.auths]).to.deep.equal([[], []]);
    });

    it('STARTTLS stripped from the submission server: ENOTSUP, no password sent; the implicit one still logs in', async () => {
      const submission = await servers.start({ hideSTARTTLS: true });
      const implicit = await servers.start({ secure: true });
      const code = rewrite(exampleCode('tls'), [
        [SUBMISSION, submission.url],
        [IMPLICIT, implicit.url],
      ]);
      const run = await runExample(code, { files: { 'ca.pem': readFileSync(CA_PEM) } });

      expectClean(run);
      expect(run.stderr).to.equal(`${submission.url} failed: ENOTSUP\n`);
      expect(linesOf(run.stdout)).to.deep.equal([`${implicit.url} logged in over TLSv1.3 (certificate verified)`]);
      expect(submission.auths).to.deep.equal([]);
    });
  });

  describe('Sending', () => {
    const URL = 'smtp://localhost:2525';

    it('send, sendAll and a promise queued on one connection, pipelined; Carol refused on her own', async () => {
      const server = await servers.start({ onRcptTo: refuse({ 'carol@example.com': 550 }) });
      const run = await runExample(rewrite(exampleCode('sending'), [[URL, server.url]]));

      expectClean(run);
      expect(linesOf(run.stdout)).to.deep.equal([
        "queued as Q1 accepted [ 'b@example.com' ] rejected 0",
        'sent #0 to bob@example.com',
        'refused #1 (Carol <carol@example.com>): ESERVERPERM',
        "accepted [ 'c@example.com' ]",
      ]);
      expect(run.stderr).to.equal('');
      expect(server.connections).to.equal(1);
      expect(server.messages.map((m) => [m.from, m.to, m.raw.toString()])).to.deep.equal([
        ['a@example.com', ['b@example.com'], 'Subject: hi\r\n\r\nHello\r\n'],
        ['news@example.com', ['bob@example.com'], 'Subject: News\r\n\r\nHello Bob\r\n'],
        ['a@example.com', ['c@example.com'], 'Subject: bye\r\n\r\nBye\r\n'],
      ]);
    });

    it('the server ends the session (421) in the middle: the SendAllError and the promise report it, QUIT is skipped', async () => {
      const server = await servers.start({ onRcptTo: refuse({ 'carol@example.com': 421 }) });
      const run = await runExample(rewrite(exampleCode('sending'), [[URL, server.url]]));

      expectClean(run);
      expect(linesOf(run.stdout)).to.deep.equal(["queued as Q1 accepted [ 'b@example.com' ] rejected 0", 'sent #0 to bob@example.com']);
      expect(linesOf(run.stderr)).to.deep.equal(['ESERVERTEMP: not sent 1, uncertain 0', 'failed: ESERVERTEMP']);
      expect(server.messages.map((m) => m.to)).to.deep.equal([['b@example.com'], ['bob@example.com']]);
    });

    it('nothing listening: the connect error is reported, nothing else runs', async () => {
      const port = await closedPort();
      const run = await runExample(rewrite(exampleCode('sending'), [[URL, `smtp://localhost:${port}`]]));

      expectClean(run);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.equal('failed: ECONNREFUSED\n');
    });
  });

  describe('Cancelling', () => {
    const URL = 'smtp://localhost:2525';

    it('without Ctrl-C: the three reports are sent, each printed', async () => {
      const server = await servers.start();
      const run = await runExample(rewrite(exampleCode('cancelling'), [[URL, server.url]]));

      expectClean(run);
      expect(linesOf(run.stdout)).to.deep.equal(['#0 sent', '#1 sent', '#2 sent']);
      expect(server.messages).to.have.length(3);
    });

    it('Ctrl-C while the second waits for its reply: ECANCELED, #0 delivered, #1 uncertain (the server has it), #2 not sent', async () => {
      let child: ChildProcess | undefined;
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      // The second report's end of data is in and its reply held back: that is when the reader presses Ctrl-C.
      const server = await servers.start({
        holdReply: (message) => {
          if (!message.raw.toString().includes('Tuesday')) return undefined;
          child!.kill('SIGINT');
          return held;
        },
      });
      const run = await runExample(rewrite(exampleCode('cancelling'), [[URL, server.url]]), {
        started: (started, output) => {
          child = started;
          // Once the example has said where each mail stands, the server may answer (if the connection is still there).
          started.stdout!.on('data', () => output.stdout.includes('ECANCELED') && release());
        },
      });

      expectClean(run);
      expect(linesOf(run.stdout)).to.deep.equal(['#0 sent', 'ECANCELED: delivered 0; uncertain 1; not sent 2']);
      expect(server.messages.map((m) => m.raw.toString().split('\r\n')[0])).to.deep.equal(['Subject: Report for Monday', 'Subject: Report for Tuesday']);
    });
  });

  describe('Promises', () => {
    const URL = 'smtp://localhost:2525';

    it('connect, send, sendAll and pool.send awaited: each result printed, four mails delivered', async () => {
      const server = await servers.start();
      const run = await runExample(rewrite(exampleCode('promises'), [[URL, server.url]]));

      expectClean(run);
      expect(linesOf(run.stdout)).to.deep.equal(["[ 'b@example.com' ] [ true, true ]", "[ 'b@example.com' ]"]);
      expect(run.stderr).to.equal('');
      expect(server.messages.map((m) => m.to)).to.deep.equal([['b@example.com'], ['b@example.com'], ['b@example.com'], ['b@example.com']]);
    });

    it('the recipient refused: each await rejects with the SmtpError, caught and printed', async () => {
      const server = await servers.start({ onRcptTo: refuse({ 'b@example.com': 550 }) });
      const run = await runExample(rewrite(exampleCode('promises'), [[URL, server.url]]));

      expectClean(run);
      expect(run.stdout).to.equal('');
      expect(linesOf(run.stderr)).to.deep.equal(['failed: ESERVERPERM', 'failed: ESERVERPERM']);
    });
  });
});

/** Server options with one of the test certificates (test/fixtures/certs/README.md). */
function certificate(name: 'wrong-host' | 'self-signed'): SMTPServerOptions {
  const dir = join(ROOT, 'test', 'fixtures', 'certs');
  return { key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.pem`)) };
}
