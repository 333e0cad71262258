import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { runCli } from '../cli/run';
import { PASSWORD, USER } from '../fixtures/smtp-server';
import type { InteropTarget } from './target';

/**
 * The command line against a third-party server: `rx-smtp send`, as `npm run build` makes it
 * (see `builtPackage` in test/fixtures/build.ts), sending one mail.
 *
 * @example
 * ```ts
 * itSendsOneMailWithTheCli(exim, { starttls: true, auth: true });
 * ```
 */

/** The first run compiles the library (about 7 s alone, more on a loaded machine). */
const CLI_TIMEOUT_MS = 120_000;

/** How the CLI reaches the server: STARTTLS trusting DIR/cert.pem (else `--tls none`), AUTH as alice, LMTP. */
export interface CliHow {
  starttls: boolean;
  auth: boolean;
  lmtp?: boolean;
}

/** `rx-smtp send` of one mail with a --body file: exit 0, "sent to ...: 250 ...", the message stored as written. */
export function itSendsOneMailWithTheCli(target: InteropTarget, how: CliHow): void {
  const over = `${how.lmtp === true ? ' by LMTP' : ''}${how.starttls ? ' over STARTTLS' : ''}${how.auth ? ' as alice' : ''}`;
  it(`the CLI (dist/cli/main.js) sends one mail${over}: exit 0, stored`, async function () {
    this.timeout(CLI_TIMEOUT_MS);
    const { server } = target.handle;
    const from = target.store.sender('cli');
    const dir = mkdtempSync(join(tmpdir(), 'rx-smtp-interop-cli-'));
    try {
      writeFileSync(join(dir, 'body.txt'), 'Hello from the command line.\n.a leading dot\n');
      const tls = how.starttls ? ['--tls', 'starttls-required', '--ca', join(server.dir, 'cert.pem')] : ['--tls', 'none'];
      const auth = how.auth ? ['--user', USER] : [];
      const protocol = how.lmtp === true ? ['--protocol', 'lmtp'] : [];
      const args = ['send', '--server', `smtp://127.0.0.1:${server.port}`, ...protocol, ...tls, ...auth, '--from', from, '--to', 'b@example.test'];
      const run = await runCli([...args, '--subject', 'from the CLI', '--body', `@${join(dir, 'body.txt')}`], {
        env: how.auth ? { RX_SMTP_PASSWORD: PASSWORD } : {},
      });

      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.match(/^sent to b@example\.test: 250[ -][^\n]*\n$/);
      const [stored] = await target.store.from(from, 1);
      const [head, body] = stored!.eml.toString().split('\r\n\r\n');
      expect(head!.split('\r\n').slice(0, 3)).to.deep.equal([`From: ${from}`, 'To: b@example.test', 'Subject: from the CLI']);
      expect(body).to.equal('Hello from the command line.\r\n.a leading dot\r\n');
      if (how.auth) expect(stored!.json.sasl_username).to.equal(USER);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
