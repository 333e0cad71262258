import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import fc from 'fast-check';
import { type Observable, from, lastValueFrom, map, range } from 'rxjs';
import type { Mail, MailBody } from '../../lib/mail/mail';
import type { SmtpSession } from '../../lib/session';
import { SMUGGLING, crlfNormalise, show, smugglingBody } from '../body/expected';
import { checkLeaks } from '../fixtures/handles';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { codeOf, connectTo, errorOf, numbered, outcomesOf } from './helpers';

const mail = (body: MailBody, overrides: Partial<Mail> = {}): Mail => ({ from: 'a@example.test', to: 'b@example.test', body, ...overrides });

/** 10 MB in 64 KiB chunks of awkward content: dotted lines, bare LF and CR, a CRLF cut in two. */
const CHUNK = Buffer.from(`.dot\nbare lf\rbare cr\r\n..two dots\r\n${'x'.repeat(65_536 - 40)}\r`.slice(0, 65_536), 'latin1');
const CHUNKS = Math.ceil((10 * 1024 * 1024) / CHUNK.length);
const tenMegabytes = (): Buffer[] => Array.from({ length: CHUNKS }, () => CHUNK);
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('send/interop with smtp-server', () => {
  let server: SmtpServerFixture | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    session?.dispose();
    await server?.close();
    server = session = undefined;
  });
  checkLeaks();

  async function start(options: Parameters<typeof startSmtpServer>[0] = {}): Promise<SmtpSession> {
    server = await startSmtpServer(options);
    session = await connectTo(server.port);
    return session;
  }

  describe('delivers each body byte for byte, CRLF-normalised', () => {
    const bodies: [string, string | Buffer][] = [
      ['lines starting with "."', 'Subject: dots\r\n\r\n.one\r\n..two\r\n...three\r\n'],
      ['a lone "." line', 'Subject: dot\r\n\r\nbefore\r\n.\r\nafter\r\n'],
      ['a body that is only "."', '.'],
      ['bare LF line endings', 'Subject: lf\n\nline one\nline two\n'],
      ['bare CR line endings', 'Subject: cr\r\rline one\rline two\r'],
      ['no final newline', 'Subject: end\r\n\r\nno newline at the end'],
      ['8-bit UTF-8', 'Subject: =?UTF-8?Q?caf=C3=A9?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCafé, naïve, 日本語, ☃\r\n'],
      ['arbitrary 8-bit bytes', Buffer.from([0x53, 0x3a, 0x20, 0x80, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0xc3, 0x28, 0x00, 0x7f])],
    ];
    for (const [what, body] of bodies) {
      it(what, async () => {
        const s = await start();
        const result = await lastValueFrom(s.send(mail(body)));
        expect(server!.messages).to.have.length(1);
        expect(server!.messages[0]!.raw).to.deep.equal(crlfNormalise(body));
        expect(result.bytes).to.equal(crlfNormalise(body).length);
      });
    }

    it('an empty body', async () => {
      const s = await start();
      const result = await lastValueFrom(s.send(mail('')));
      expect(server!.messages.map((m) => m.raw.length)).to.deep.equal([0]);
      expect(result.bytes).to.equal(0);
    });

    it('declares BODY=8BITMIME', async () => {
      const s = await start();
      await lastValueFrom(s.send(mail('Café\r\n')));
      expect(server!.messages[0]!.envelope.bodyType).to.equal('8bitmime');
    });
  });

  describe('property', () => {
    /**
     * Bodies rich in CR, LF and dots, cut at random places, streamed as a Readable or an Observable.
     * No NUL: a line of NULs then "." gets its extra dot before the NULs (against receivers that drop
     * NUL, test/hostile/smuggling), which RFC 5321 4.5.2 receivers remove and smtp-server keeps.
     */
    const streamedBody = fc
      .tuple(
        fc.array(fc.oneof(fc.constantFrom(0x0d, 0x0a, 0x2e), fc.integer({ min: 1, max: 255 })), { maxLength: 400 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
      )
      .map(([bytes, cuts, asObservable]) => {
        const body = Buffer.from(bytes);
        const points = [...cuts.map((c) => c % (body.length + 1)).sort((a, b) => a - b), body.length];
        const chunks = points.map((point, i) => body.subarray(i === 0 ? 0 : points[i - 1]!, point));
        return { body, stream: (): MailBody => (asObservable ? from(chunks) : Readable.from(chunks)) };
      });

    it('what the server receives is the CRLF-normalised input, for any body cut anywhere', async () => {
      const s = await start();
      await fc.assert(
        fc.asyncProperty(streamedBody, async ({ body, stream }) => {
          const result = await lastValueFrom(s.send(mail(stream())));
          const received = server!.messages[server!.messages.length - 1]!;
          expect(received.raw).to.deep.equal(crlfNormalise(body));
          expect(result.bytes).to.equal(received.raw.length);
        }),
        { numRuns: 40 },
      );
    });
  });

  describe('SMTP smuggling: exactly one message per mail', () => {
    for (const sequence of SMUGGLING) {
      it(show(sequence), async () => {
        const s = await start();
        const body = smugglingBody(sequence);
        const outcomes = await outcomesOf(s.sendAll([mail(body), mail('Subject: next\r\n\r\nnext\r\n')]));
        expect(outcomes.map(codeOf)).to.deep.equal(['ok', 'ok']);
        expect(server!.messages.map((m) => m.from)).to.deep.equal(['a@example.test', 'a@example.test']);
        expect(server!.messages[0]!.raw).to.deep.equal(crlfNormalise(body));
        expect(server!.messages[1]!.raw.toString()).to.equal('Subject: next\r\n\r\nnext\r\n');
      });
    }
  });

  describe('10 MB streamed', () => {
    const expected = crlfNormalise(Buffer.concat(tenMegabytes()));

    it('from a Node Readable', async () => {
      const s = await start();
      const result = await lastValueFrom(s.send(mail(Readable.from(tenMegabytes()))));
      expect(result.bytes).to.equal(expected.length);
      expect(server!.messages).to.have.length(1);
      expect(server!.messages[0]!.raw.length).to.equal(expected.length);
      expect(sha256(server!.messages[0]!.raw)).to.equal(sha256(expected));
    });

    it('from an Observable', async () => {
      const s = await start();
      const body$: Observable<Uint8Array> = range(0, CHUNKS).pipe(map(() => CHUNK));
      const result = await lastValueFrom(s.send(mail(body$)));
      expect(result.bytes).to.equal(expected.length);
      expect(sha256(server!.messages[0]!.raw)).to.equal(sha256(expected));
    });
  });

  describe('extensions', () => {
    it('pipelines a batch: every mail delivered once, in order', async () => {
      const s = await start();
      const mails = Array.from({ length: 20 }, (_, i) => numbered(i));
      const outcomes = await outcomesOf(s.sendAll(mails));
      expect(outcomes.map(codeOf)).to.deep.equal(mails.map(() => 'ok'));
      expect(server!.messages.map((m) => [m.to[0], m.raw.toString()])).to.deep.equal(mails.map((m) => [m.to, m.body]));
    });

    it('SIZE: EMSGSIZE before MAIL for a body over the limit', async () => {
      const s = await start({ size: 1000 });
      const error = await errorOf(s.send(mail('x'.repeat(2000))));
      expect(error.code).to.equal('EMSGSIZE');
      await lastValueFrom(s.send(mail('small')));
      expect(server!.messages.map((m) => m.raw.toString())).to.deep.equal(['small\r\n']);
    });

    it('SIZE: a streamed body over the limit is refused at the end of data (552), and the next mail goes', async () => {
      const s = await start({ size: 1000 });
      const outcomes = await outcomesOf(s.sendAll([mail(Readable.from([Buffer.alloc(2000, 0x61)])), mail('small')]));
      expect(outcomes.map(codeOf)).to.deep.equal(['ESERVERPERM', 'ok']);
      expect(!outcomes[0]!.ok && outcomes[0]!.error.reply?.code).to.equal(552);
      expect(server!.messages.map((m) => m.raw.toString())).to.deep.equal(['small\r\n']);
    });

    it('SIZE: declares the size of the body', async () => {
      const s = await start({ size: 1000 });
      await lastValueFrom(s.send(mail('a\nb')));
      expect(server!.messages[0]!.envelope.mailFrom && server!.messages[0]!.envelope.mailFrom.args).to.include({ SIZE: '6' });
    });

    it('SMTPUTF8: a non-ASCII recipient', async () => {
      const s = await start();
      await lastValueFrom(s.send(mail('hi\r\n', { to: 'josé@exämple.test' })));
      expect(server!.messages[0]!.to).to.deep.equal(['josé@exämple.test']);
      expect(server!.messages[0]!.envelope.smtpUtf8).to.equal(true);
    });

    it('DSN: RET, ENVID, NOTIFY and ORCPT arrive decoded', async () => {
      const s = await start({ hideDSN: false }); // smtp-server offers DSN only when asked to
      const dsn = { ret: 'HDRS' as const, envid: 'batch=7+x', notify: ['SUCCESS' as const, 'FAILURE' as const], orcpt: true };
      await lastValueFrom(s.send(mail('hi\r\n', { to: 'b+tag@example.test', dsn })));
      const { envelope } = server!.messages[0]!;
      expect(envelope.dsn).to.include({ ret: 'HDRS', envid: 'batch=7+x' });
      expect(envelope.rcptTo[0]!.dsn).to.deep.include({ notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;b+tag@example.test' });
    });

    it('DSN: ENOTSUP when the server hides it, before MAIL', async () => {
      const s = await start({ hideDSN: true });
      const error = await errorOf(s.send(mail('hi\r\n', { dsn: { ret: 'FULL' } })));
      expect(error.code).to.equal('ENOTSUP');
      expect(server!.messages).to.deep.equal([]);
    });

    it("MAIL FROM:<> for the null reverse-path", async () => {
      const s = await start();
      await lastValueFrom(s.send(mail('bounce\r\n', { from: '' })));
      expect(server!.messages[0]!.from).to.equal('');
    });
  });
});
