import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { type Observable, lastValueFrom, map, range } from 'rxjs';
import type { Mail, MailBody, SendResult } from '../../lib/mail/mail';
import type { SmtpSession } from '../../lib/session';
import { SMUGGLING, crlfNormalise, show, smugglingBody } from '../body/expected';
import { checkLeaks } from '../fixtures/handles';
import { codeOf, connectTo, errorOf, numbered, outcomesOf } from './helpers';
import { type SharedServer, postfixMissing, startPostfix } from '../fixtures/postfix';
import { postfixStore } from './postfix-store';

const mail = (body: MailBody, overrides: Partial<Mail> = {}): Mail => ({ from: 'a@example.test', to: 'b@example.test', body, ...overrides });

/**
 * 10 MB (decimal: Postfix's limit is 10 MiB including its own headers) of lines under 998 octets
 * with leading dots, bare LF and bare CR, cut into 64 KiB chunks wherever the cut falls. It starts
 * with a header: Postfix puts an empty line before content that does not.
 */
const HEADER = Buffer.from('Subject: ten megabytes\r\n\r\n');
const LINES = Buffer.from(`..two dots\n.one dot\rplain line\r\n${'y'.repeat(900)}\r\n`, 'latin1');
const TEN_MB = Buffer.concat([HEADER, Buffer.alloc(10_000_000 - HEADER.length, LINES)]);
const CHUNK = 65_536;
const CHUNKS = Math.ceil(TEN_MB.length / CHUNK);
const chunk = (i: number): Buffer => TEN_MB.subarray(i * CHUNK, (i + 1) * CHUNK);
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('send/interop with Postfix (CHUNKING)', function () {
  this.timeout(60_000);
  let postfix: SharedServer | null = null;
  let store: ReturnType<typeof postfixStore>;
  let session: SmtpSession | undefined;
  let written: string[] = [];

  before(async function () {
    postfix = await startPostfix();
    if (postfix === null) {
      console.warn(`    Postfix sending tests skipped: ${postfixMissing()}`);
      this.skip();
    }
    store = postfixStore(postfix);
  });
  after(() => postfix?.stop());
  beforeEach(async () => {
    session = await connectTo(postfix!.port);
    written = [];
    session.transcript$.subscribe((t) => t.direction === 'client' && written.push(t.line));
  });
  afterEach(() => {
    session?.dispose();
    session = undefined;
  });
  checkLeaks();

  /** Sends one mail and returns what Postfix stored for it. */
  async function deliver(m: Mail): Promise<{ result: SendResult; eml: Buffer }> {
    const result = await lastValueFrom(session!.send(m));
    expect(result.queueId, 'Postfix names its queue id').to.be.a('string');
    const { eml, json } = await store.byQueueId(result.queueId!);
    expect(json.rcpt_tos).to.deep.equal(result.accepted);
    return { result, eml };
  }

  it('uses BDAT: the content goes as one BDAT n LAST, never DATA', async () => {
    const body = 'Subject: bdat\r\n\r\nhello\r\n';
    const { eml } = await deliver(mail(body));
    expect(written.filter((l) => /^(BDAT|DATA)/.test(l))).to.deep.equal([`BDAT ${body.length} LAST`]);
    expect(eml.toString()).to.equal(body);
  });

  describe('stores each body byte for byte, CRLF-normalised', () => {
    const bodies: [string, string][] = [
      ['lines starting with "."', 'Subject: dots\r\n\r\n.one\r\n..two\r\n'],
      ['a lone "." line', 'Subject: dot\r\n\r\nbefore\r\n.\r\nafter\r\n'],
      ['bare LF line endings', 'Subject: lf\n\nline one\nline two\n'],
      ['bare CR line endings', 'Subject: cr\r\rline one\rline two\r'],
      ['no final newline', 'Subject: end\r\n\r\nno newline at the end'],
      ['8-bit UTF-8', 'Subject: =?UTF-8?Q?caf=C3=A9?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCafé, naïve, 日本語, ☃\r\n'],
    ];
    for (const [what, body] of bodies) {
      it(what, async () => {
        const { result, eml } = await deliver(mail(body));
        expect(eml).to.deep.equal(crlfNormalise(body));
        expect(result.bytes).to.equal(eml.length);
      });
    }

    it('an empty body', async () => {
      const { result, eml } = await deliver(mail(''));
      expect(written).to.include('BDAT 0 LAST');
      expect(eml.length).to.equal(0);
      expect(result.bytes).to.equal(0);
    });
  });

  describe('SMTP smuggling: exactly one message per mail', () => {
    for (const sequence of SMUGGLING) {
      it(show(sequence), async () => {
        const before = store.queueIds();
        const body = smugglingBody(sequence);
        const outcomes = await outcomesOf(session!.sendAll([mail(body), mail('Subject: next\r\n\r\nnext\r\n')]));
        const results = outcomes.map((o) => (o.ok ? o.result : expect.fail(o.error.message)));
        expect((await store.byQueueId(results[0]!.queueId!)).eml).to.deep.equal(crlfNormalise(body));
        expect((await store.byQueueId(results[1]!.queueId!)).eml.toString()).to.equal('Subject: next\r\n\r\nnext\r\n');
        const added = store.queueIds().filter((id) => !before.includes(id));
        expect(added.sort()).to.deep.equal(results.map((r) => r.queueId!).sort());
      });
    }
  });

  describe('10 MB streamed in BDAT chunks', () => {
    const expected = crlfNormalise(TEN_MB);

    it('from a Node Readable', async () => {
      const body = Readable.from(Array.from({ length: CHUNKS }, (_, i) => chunk(i)));
      const { result, eml } = await deliver(mail(body));
      expect(result.bytes).to.equal(expected.length);
      expect(eml.length).to.equal(expected.length);
      expect(sha256(eml)).to.equal(sha256(expected));
      expect(written.filter((l) => l.startsWith('BDAT')).length).to.be.greaterThan(1);
    });

    it('from an Observable', async () => {
      const body$: Observable<Uint8Array> = range(0, CHUNKS).pipe(map(chunk));
      const { eml } = await deliver(mail(body$));
      expect(sha256(eml)).to.equal(sha256(expected));
    });
  });

  describe('envelopes and failures', () => {
    it('pipelines a batch: every mail stored once, with its content', async () => {
      const mails = Array.from({ length: 10 }, (_, i) => numbered(i, { to: `rcpt${i}@example.test` }));
      const outcomes = await outcomesOf(session!.sendAll(mails));
      const results = outcomes.map((o) => (o.ok ? o.result : expect.fail(o.error.message)));
      const stored = await Promise.all(results.map((r) => store.byQueueId(r.queueId!)));
      expect(stored.map((s) => [s.json.rcpt_tos[0], s.eml.toString()])).to.deep.equal(mails.map((m) => [m.to, m.body]));
    });

    it('partial acceptance: reject@ refused (550), the others get the message', async () => {
      const { result } = await deliver(mail('hi\r\n', { to: ['b@example.test', 'reject@example.test', 'c@example.test'] }));
      expect(result.accepted).to.deep.equal(['b@example.test', 'c@example.test']);
      expect(result.rejected.map((r) => [r.recipient, r.reply.code])).to.deep.equal([['reject@example.test', 550]]);
    });

    it('all recipients refused: ok: false, RSET, and the next mail is stored', async () => {
      const outcomes = await outcomesOf(session!.sendAll([mail('no\r\n', { to: 'defer@example.test' }), mail('Subject: yes\r\n\r\nyes\r\n')]));
      expect(outcomes.map(codeOf)).to.deep.equal(['ESERVERTEMP', 'ok']);
      expect(written).to.include('RSET');
      const next = outcomes[1]!.ok ? outcomes[1]!.result : expect.fail('the second mail failed');
      expect((await store.byQueueId(next.queueId!)).eml.toString()).to.equal('Subject: yes\r\n\r\nyes\r\n');
    });

    it('a body stream that fails in the middle is never stored; RSET, and the next mail is', async () => {
      const before = store.queueIds();
      const failing = Readable.from(
        (async function* () {
          yield Buffer.from('Subject: half\r\n\r\nfirst half\r\n');
          yield Buffer.from('more\r\n');
          throw new Error('read error');
        })(),
      );
      const outcomes = await outcomesOf(session!.sendAll([mail(failing), mail('whole\r\n')]));
      expect(outcomes.map(codeOf)).to.deep.equal(['EIO', 'ok']);
      expect(written.filter((l) => /^(BDAT|RSET)/.test(l))).to.deep.equal(['BDAT 29', 'RSET', 'BDAT 7 LAST']);
      const next = outcomes[1]!.ok ? outcomes[1]!.result : expect.fail('the second mail failed');
      await store.byQueueId(next.queueId!);
      expect(store.queueIds().filter((id) => !before.includes(id))).to.deep.equal([next.queueId]);
    });

    it('SMTPUTF8: a non-ASCII recipient is accepted and stored', async () => {
      const { result } = await deliver(mail('utf8\r\n', { to: 'josé@example.test' }));
      expect(written[0]).to.match(/ SMTPUTF8$/);
      expect(result.accepted).to.deep.equal(['josé@example.test']);
    });

    it('DSN: RET, ENVID, NOTIFY and ORCPT are accepted', async () => {
      const dsn = { ret: 'HDRS' as const, envid: 'batch=7', notify: ['FAILURE' as const], orcpt: true };
      const { result } = await deliver(mail('dsn\r\n', { dsn }));
      expect(written.slice(0, 2)).to.deep.equal([
        'MAIL FROM:<a@example.test> SIZE=5 BODY=8BITMIME RET=HDRS ENVID=batch+3D7',
        'RCPT TO:<b@example.test> NOTIFY=FAILURE ORCPT=rfc822;b@example.test',
      ]);
      expect(result.accepted).to.deep.equal(['b@example.test']);
    });

    it('SIZE: EMSGSIZE before MAIL for a declared size over 10 MiB', async () => {
      const error = await errorOf(session!.send(mail(Readable.from([]), { size: 20 * 1024 * 1024 })));
      expect(error.code).to.equal('EMSGSIZE');
      expect(written).to.deep.equal([]);
    });
  });
});
