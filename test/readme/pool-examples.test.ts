import { expect } from 'chai';
import { exampleCode, rewrite } from './blocks';
import { expectClean } from './expect-clean';
import { linesOf, runExample, withBuiltPackage } from './run-example';
import { exampleServers, greylisting, refuse } from './servers';

// The README's pool, retry and nodemailer examples, run as a reader runs them (see run-example.ts)
// against smtp-server in this process, over STARTTLS as alice.

describe('README examples: pool, retries, nodemailer', function () {
  this.timeout(90_000);
  const servers = exampleServers();
  withBuiltPackage();

  describe('Pool', () => {
    it('a generator of three mails and a send: outcomes with index and failure kind, the state line, everything closed', async () => {
      const server = await servers.start({ onRcptTo: refuse({ 'carol@example.com': 550, 'dave@example.com': 451 }) });
      const run = await runExample(rewrite(exampleCode('pool'), [['smtp://smtp.example.com:587', server.url]]));

      expectClean(run);
      const lines = linesOf(run.stdout);
      // Completion order: the three outcomes in any order, then the send, then the last state.
      expect(lines.slice(0, 3)).to.have.members([
        'sent #0 to bob@example.com',
        'permanent #1 carol@example.com: ESERVERPERM',
        'transient #2 dave@example.com: ESERVERTEMP',
      ]);
      expect(lines.slice(3)).to.include("accepted [ 'b@example.com' ]");
      expect(lines[lines.length - 1]).to.equal('0 busy, 0 in flight, 2 sent, 2 failed');
      expect(run.stderr).to.equal('');
      expect(server.messages.map((m) => [m.to, m.user, m.secure])).to.have.deep.members([
        [['bob@example.com'], 'alice', true],
        [['b@example.com'], 'alice', true],
      ]);
    });
  });

  describe('Retrying', () => {
    const code = (url: string): string =>
      rewrite(exampleCode('retry'), [
        ['smtp://smtp.example.com:587', url],
        // The example's delay is greylisting's minutes; the test server greylists for no time at all.
        ['const RETRY_DELAY_MS = 60_000;', 'const RETRY_DELAY_MS = 20;'],
      ]);

    it('greylisted mails are sent on their second try; the refused one is given up at once; the others go on', async () => {
      const greylist = greylisting(['carol@example.com']);
      const server = await servers.start({ onRcptTo: greylist.onRcptTo });
      const run = await runExample(code(server.url));

      expectClean(run);
      expect(linesOf(run.stdout)).to.have.members(['sent to bob@example.com', 'gave up on carol@example.com: permanent ESERVERPERM', 'sent to dave@example.com']);
      expect(Object.fromEntries(greylist.tries)).to.deep.equal({ 'bob@example.com': 2, 'carol@example.com': 1, 'dave@example.com': 2 });
      expect(server.messages.map((m) => m.to[0]).sort()).to.deep.equal(['bob@example.com', 'dave@example.com']);
    });

    it('a server that keeps deferring: five retries, then the mail is given up as transient', async () => {
      const server = await servers.start({ onRcptTo: refuse({ 'dave@example.com': 451 }) });
      const run = await runExample(code(server.url));

      expectClean(run);
      expect(linesOf(run.stdout)).to.have.members(['sent to bob@example.com', 'sent to carol@example.com', 'gave up on dave@example.com: transient ESERVERTEMP']);
    });
  });

  describe('With nodemailer', () => {
    const REPORT = Buffer.from('%PDF-1.4\n% a test report\n%%EOF\n');
    const code = (port: number): string =>
      rewrite(exampleCode('nodemailer'), [
        ["host: 'mail.example.com'", "host: 'localhost'"],
        ['port: 587', `port: ${port}`],
      ]);

    it("sendMail with an attachment: nodemailer's info printed, the MIME message delivered over STARTTLS as alice", async () => {
      const server = await servers.start();
      const run = await runExample(code(server.port), { files: { 'report.pdf': REPORT } });

      expectClean(run);
      expect(run.stdout).to.match(/^<[^>]+@example\.com> \[ 'bob@example\.com' \] \[\] 250 Ok: queued as Q1\n$/);
      expect(run.stderr).to.equal('');
      const [message] = server.messages;
      expect([server.messages.length, message!.from, message!.to, message!.user, message!.secure]).to.deep.equal([1, 'alice@example.com', ['bob@example.com'], 'alice', true]);
      const raw = message!.raw.toString();
      expect(raw).to.match(/^Content-Disposition: attachment; filename=report\.pdf$/m);
      expect(raw.replace(/\r\n/g, '')).to.include(REPORT.toString('base64'));
    });

    it("the recipient refused: the error has nodemailer's fields and rx-smtp's code as its cause", async () => {
      const server = await servers.start({ onRcptTo: refuse({ 'bob@example.com': 550 }) });
      const run = await runExample(code(server.port), { files: { 'report.pdf': REPORT } });

      expectClean(run);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.equal('EENVELOPE 550 550 5.1.1 no such user ESERVERPERM\n');
    });

    it('the attachment missing: the transport error is reported (rx-smtp: EIO, the body failed), nothing is delivered', async () => {
      const server = await servers.start();
      const run = await runExample(code(server.port));

      expectClean(run);
      // nodemailer's own code for it is ESTREAM: test/nodemailer/drop-in.test.ts compares the two.
      expect(run.stderr).to.match(/^E[A-Z]+ undefined undefined EIO\n$/);
      expect(server.messages).to.deep.equal([]);
    });

    it("a nodemailer plugin fails: not the transport's error, reported by the other branch", async () => {
      const server = await servers.start();
      const withPlugin = rewrite(code(server.port), [
        ['const transporter = nodemailer.createTransport(transport);', "const transporter = nodemailer.createTransport(transport);\ntransporter.use('compile', (_mail, done) => done(new Error('template missing')));"],
      ]);
      const run = await runExample(withPlugin, { files: { 'report.pdf': REPORT } });

      expectClean(run);
      expect(run.stderr).to.match(/^not sent: Error: template missing\n/);
      expect(server.messages).to.deep.equal([]);
    });
  });
});
