import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ROOT } from '../fixtures/build';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { cleanEnv, installApp, node, tsc } from './install';

const exec = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** An app as users write it: a session sends one mail, nodemailer another through rx-smtp's transport. */
const ESM_APP = `import { lastValueFrom } from 'rxjs';
import nodemailer from 'nodemailer';
import { createSession, SmtpError, MAX_AUTH_ROUNDS } from 'rx-smtp';
import { rxSmtpTransport, RxSmtpTransportError } from 'rx-smtp/nodemailer';

const port = Number(process.env.SMTP_PORT);
const session = createSession({ tls: 'none' });
await lastValueFrom(session.connect({ host: '127.0.0.1', port }));
const result = await lastValueFrom(session.send({ from: 'Alice <a@example.test>', to: 'b@example.test', body: 'Subject: esm\\r\\n\\r\\nhi\\r\\n' }));
await lastValueFrom(session.quit(), { defaultValue: undefined });
session.dispose();
const transport = rxSmtpTransport({ host: '127.0.0.1', port, ignoreTLS: true });
const info = await nodemailer.createTransport(transport).sendMail({ from: 'a@example.test', to: 'c@example.test', subject: 'esm, nodemailer', text: 'hi' });
await transport.close();
console.log(JSON.stringify({ accepted: [...result.accepted, ...info.accepted], classes: [typeof SmtpError, typeof RxSmtpTransportError], MAX_AUTH_ROUNDS }));
`;

const CJS_APP = `const { lastValueFrom } = require('rxjs');
const nodemailer = require('nodemailer');
const { createSession, SmtpError, MAX_AUTH_ROUNDS } = require('rx-smtp');
const { rxSmtpTransport, RxSmtpTransportError } = require('rx-smtp/nodemailer');

async function main() {
  const port = Number(process.env.SMTP_PORT);
  const session = createSession({ tls: 'none' });
  await lastValueFrom(session.connect({ host: '127.0.0.1', port }));
  const result = await lastValueFrom(session.send({ from: 'a@example.test', to: 'Bob <b@example.test>', body: 'Subject: cjs\\r\\n\\r\\nhi\\r\\n' }));
  await lastValueFrom(session.quit(), { defaultValue: undefined });
  session.dispose();
  const transport = rxSmtpTransport({ host: '127.0.0.1', port, ignoreTLS: true });
  const info = await nodemailer.createTransport(transport).sendMail({ from: 'a@example.test', to: 'c@example.test', subject: 'cjs, nodemailer', text: 'hi' });
  await transport.close();
  console.log(JSON.stringify({ accepted: [...result.accepted, ...info.accepted], classes: [typeof SmtpError, typeof RxSmtpTransportError], MAX_AUTH_ROUNDS }));
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
`;

/** The same in TypeScript, with the types a user would write down. */
const TS_APP = `import { lastValueFrom } from 'rxjs';
import { createSession, type Mail, type SendResult, SmtpError, type SmtpErrorCode } from 'rx-smtp';
import { RxSmtpTransportError, type RxSmtpSentMessageInfo, type RxSmtpTransportOptions, rxSmtpTransport } from 'rx-smtp/nodemailer';

async function main(): Promise<void> {
  const port = Number(process.env.SMTP_PORT);
  const session = createSession({ tls: 'none' });
  await lastValueFrom(session.connect({ host: '127.0.0.1', port }));
  const mail: Mail = { from: 'a@example.test', to: ['b@example.test'], body: 'Subject: ts\\r\\n\\r\\nhi\\r\\n' };
  const result: SendResult = await lastValueFrom(session.send(mail));
  await lastValueFrom(session.quit(), { defaultValue: undefined });
  session.dispose();
  const options: RxSmtpTransportOptions = { host: '127.0.0.1', port, ignoreTLS: true, auth: undefined };
  const transport = rxSmtpTransport(options);
  const seen: Partial<RxSmtpSentMessageInfo> = { accepted: result.accepted };
  await transport.close();
  const code: SmtpErrorCode = 'EINVAL';
  console.log(JSON.stringify({ accepted: seen.accepted, classes: [typeof SmtpError, typeof RxSmtpTransportError], code }));
}
main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
`;

/** The three module resolutions a TypeScript user may have, and the package type each emits for. */
const TS_SETUPS: [string, Record<string, string>, 'commonjs' | 'module'][] = [
  ['node16', { module: 'node16', moduleResolution: 'node16' }, 'commonjs'],
  ['bundler', { module: 'esnext', moduleResolution: 'bundler' }, 'module'],
  ['node', { module: 'commonjs', moduleResolution: 'node' }, 'commonjs'],
];

// The package as npm publishes it: packed, installed into fresh apps (offline), and run.
describe('the packed package', function () {
  this.timeout(300_000);
  let tmp: string;
  let tarball: string;
  let server: SmtpServerFixture;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'rx-smtp-package-'));
    // prepack builds dist/ first, as `npm publish` would.
    const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 });
    tarball = join(tmp, (JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string }[])[0]!.filename);
    server = await startSmtpServer({ hideSTARTTLS: true });
  });
  after(async () => {
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('holds LICENSE, README, package.json and dist/ only, and every source map carries its sources', async () => {
    const { stdout } = await exec('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n');
    expect(files).to.include.members(['package/LICENSE', 'package/README.md', 'package/package.json', 'package/dist/index.js', 'package/dist/cli/main.js']);
    expect(files.filter((f) => !/^package\/(LICENSE|README\.md|package\.json|dist\/.+)$/.test(f))).to.deep.equal([]);
    await exec('tar', ['-xzf', tarball, '-C', tmp]);
    const maps = files.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).to.be.greaterThan(50);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(tmp, map), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
      expect(sourcesContent, `${map} ships no sources`).to.have.length(sources.length);
    }
  });

  it('is clean for publint', async () => {
    const { stdout } = await exec(process.execPath, [join(ROOT, 'node_modules', 'publint', 'src', 'cli.js'), 'run', tarball, '--strict'], { env: cleanEnv() });
    expect(stdout).to.contain('All good!');
  });

  it('is clean for Are the Types Wrong, in every resolution mode (node10 finds rx-smtp/nodemailer through typesVersions)', async () => {
    const attw = join(ROOT, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
    const { stdout } = await exec(process.execPath, [attw, tarball, '--format', 'json'], { env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 });
    const report = JSON.parse(stdout) as { analysis: { problems: unknown[]; entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string } }> }> } };
    expect(report.analysis.problems).to.deep.equal([]);
    const node10 = report.analysis.entrypoints['./nodemailer']!.resolutions.node10!.resolution?.fileName;
    expect(node10).to.match(/dist\/nodemailer\/index\.d\.ts$/);
  });

  it('installs into an ESM app that sends through a session and through nodemailer', async () => {
    const dir = await installApp(join(tmp, 'esm'), tarball, { type: 'module' });
    writeFileSync(join(dir, 'app.mjs'), ESM_APP);
    const out = JSON.parse(await node(dir, 'app.mjs', { SMTP_PORT: String(server.port) }));
    expect(out).to.deep.equal({ accepted: ['b@example.test', 'c@example.test'], classes: ['function', 'function'], MAX_AUTH_ROUNDS: 8 });
  });

  it('installs into a CommonJS app that does the same with require()', async () => {
    const dir = await installApp(join(tmp, 'cjs'), tarball);
    writeFileSync(join(dir, 'app.cjs'), CJS_APP);
    const out = JSON.parse(await node(dir, 'app.cjs', { SMTP_PORT: String(server.port) }));
    expect(out).to.deep.equal({ accepted: ['b@example.test', 'c@example.test'], classes: ['function', 'function'], MAX_AUTH_ROUNDS: 8 });
  });

  for (const [name, resolution, type] of TS_SETUPS) {
    it(`installs into a TypeScript app (moduleResolution ${resolution.moduleResolution}) that typechecks, with the library's types checked too, and runs`, async () => {
      const dir = await installApp(join(tmp, `ts-${name}`), tarball, { type }, ['@types/node']);
      writeFileSync(join(dir, 'app.ts'), TS_APP);
      const compilerOptions = { target: 'es2022', strict: true, esModuleInterop: true, skipLibCheck: false, types: ['node'], outDir: 'out', ...resolution };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['app.ts'] }));
      expect(await tsc(dir)).to.equal('');
      const out = JSON.parse(await node(dir, join('out', 'app.js'), { SMTP_PORT: String(server.port) }));
      expect(out).to.deep.equal({ accepted: ['b@example.test'], classes: ['function', 'function'], code: 'EINVAL' });
    });
  }

  it('installs the rx-smtp command', async () => {
    const dir = join(tmp, 'cjs');
    const { stdout } = await exec(join(dir, 'node_modules', '.bin', 'rx-smtp'), ['--version'], { cwd: dir, env: cleanEnv() });
    expect(stdout).to.equal(`rx-smtp ${VERSION}\n`);
  });
});
