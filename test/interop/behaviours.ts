import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import type { Mail } from '../../lib/mail/mail';
import { createPool } from '../../lib/pool';
import { crlfNormalise } from '../body/expected';
import { errorOf, outcomesOf } from '../send/helpers';
import type { SessionFixture } from '../session/session-fixture';
import { failuresOf, fateOf } from './fates';
import type { Stored } from './store';
import { type ConnectHow, type InteropTarget, connectTo, endsOfData } from './target';

/**
 * What every third-party server is put through, as shared mocha behaviours: each function
 * registers its `it`s in the calling `describe`, for the server of `target`. What differs between
 * servers (the transfer, the documented exceptions to byte-exact storage, the 4xx of `defer@`) is a
 * parameter; what only one server does stays in its own test file.
 *
 * @example
 * ```ts
 * describe('interop with Exim', function () {
 *   const exim = interopTarget(EXIM);
 *   const f = sessionFixture();
 *   itStoresBodiesExactly(f, exim, { transfer: 'BDAT', empty: '\r\n' });
 *   itSendsAllExactlyOnce(f, exim, 500);
 * });
 * ```
 */

/** Long enough for 500 mails to Haraka (about 45 ms each, pipelined) and Exim's queue runner after them. */
const BULK_TIMEOUT_MS = 120_000;

/** Bodies whose bytes a server must store as they were sent (CRLF-normalised, unstuffed). */
const BODIES: [string, string][] = [
  ['lines starting with "." and a lone "."', 'Subject: dots\r\n\r\n.one\r\n..two\r\n.\r\nafter the lone dot\r\n'],
  ['8-bit UTF-8 text', 'Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCafé, naïve, 日本語, ☃\r\n'],
  ['a 2000-byte line', `Subject: long line\r\n\r\n${'x'.repeat(2000)}\r\n`],
  ['no final newline (the client adds CRLF)', 'Subject: end\r\n\r\nno newline at the end'],
];

/** How a server stores bodies, with its documented exceptions. */
export interface BodyStorage {
  /** How the content goes: BDAT (CHUNKING offered and used) or DATA. */
  transfer: 'BDAT' | 'DATA';
  /** What the server stores for an empty message: exactly this, or text matching it. */
  empty: string | RegExp;
  /** Connect so (STARTTLS, AUTH, `chunking: false`). */
  connect?: ConnectHow;
}

/** The one line that carried a message's data: `DATA` or `BDAT n LAST`. */
function transferLines(written: readonly string[]): string[] {
  return written.filter((line) => line === 'DATA' || line.startsWith('BDAT '));
}

/** Sends each body as one mail and compares what the server stored with it, byte for byte. */
export function itStoresBodiesExactly(f: SessionFixture, target: InteropTarget, storage: BodyStorage): void {
  const { transfer } = storage;
  const sendOne = async (body: string): Promise<{ stored: Stored; bytes: number; transfers: string[] }> => {
    const { session, written } = await connectTo(f, target, storage.connect);
    const from = target.store.sender('body');
    const result = await lastValueFrom(session.send({ from, to: 'b@example.test', body }));
    const [stored] = await target.store.from(from, 1);
    return { stored: stored!, bytes: result.bytes, transfers: transferLines(written) };
  };

  for (const [what, body] of BODIES) {
    it(`stores ${what} byte for byte (${transfer})`, async () => {
      const sent = `${target.header}${body}`;
      const { stored, bytes, transfers } = await sendOne(sent);
      expect(transfers).to.deep.equal([transfer === 'BDAT' ? `BDAT ${bytes} LAST` : 'DATA']);
      expect(stored.eml.toString('utf8')).to.equal(crlfNormalise(sent).toString('utf8'));
      expect(stored.eml).to.deep.equal(crlfNormalise(sent));
      expect(bytes).to.equal(stored.eml.length);
    });
  }

  const { empty } = storage;
  it(`stores an empty message as ${typeof empty === 'string' ? JSON.stringify(empty) : String(empty)} (${transfer})`, async () => {
    const { stored, bytes, transfers } = await sendOne('');
    expect(transfers).to.deep.equal([transfer === 'BDAT' ? 'BDAT 0 LAST' : 'DATA']);
    expect(bytes).to.equal(0);
    if (typeof empty === 'string') expect(stored.eml.toString('latin1')).to.equal(empty);
    else expect(stored.eml.toString('latin1')).to.match(empty);
  });
}

/** `count` mails from the target's sender `what`, each with a body of its own, to a few recipients. */
function bulkMails(target: InteropTarget, what: string, count: number): Mail[] {
  const from = target.store.sender(what);
  return Array.from({ length: count }, (_, i) => ({
    from,
    to: `rcpt${i % 7}@example.test`,
    body: `${target.header}Subject: bulk ${i} of ${count}\r\n\r\n.mail ${i}\r\n`,
  }));
}

/** Each mail stored exactly once with its own body: nothing missing, nothing twice. */
async function expectStoredOnce(target: InteropTarget, mails: readonly Mail[]): Promise<void> {
  const stored = await target.store.from(mails[0]!.from, mails.length);
  const times = new Map<string, number>();
  for (const { eml } of stored) times.set(eml.toString(), (times.get(eml.toString()) ?? 0) + 1);
  const bodies = new Set(mails.map((m) => m.body as string));
  const problems = {
    missing: [...bodies].filter((body) => !times.has(body)),
    twice: [...bodies].filter((body) => (times.get(body) ?? 0) > 1),
    unknown: [...times.keys()].filter((body) => !bodies.has(body)),
  };
  // Counts and the first two of each: a diff of 500 bodies says nothing.
  const summary = (list: string[]): string => `${list.length}${list.length > 0 ? `, e.g. ${JSON.stringify(list.slice(0, 2))}` : ''}`;
  expect({ missing: summary(problems.missing), twice: summary(problems.twice), unknown: summary(problems.unknown) }).to.deep.equal({
    missing: '0',
    twice: '0',
    unknown: '0',
  });
}

/** A `sendAll` of `count` mails on one session: every mail delivered, each stored exactly once. */
export function itSendsAllExactlyOnce(f: SessionFixture, target: InteropTarget, count: number, connect: ConnectHow = {}): void {
  it(`sendAll of ${count} mails on one connection: each delivered, stored exactly once`, async function () {
    this.timeout(BULK_TIMEOUT_MS);
    const { session, written } = await connectTo(f, target, connect);
    const mails = bulkMails(target, 'send-all', count);
    const fates = (await outcomesOf(session.sendAll(mails))).map(fateOf);
    expect(failuresOf(fates)).to.deep.equal({});
    expect(fates.map((fate) => fate.mail)).to.have.members(mails);
    // Each message's data went out once: what the server stored is not a re-send.
    expect(endsOfData(written)).to.equal(count);
    await expectStoredOnce(target, mails);
  });
}

/** A pool (createPool, its defaults: 5 connections) sending `count` mails: each delivered, stored exactly once. */
export function itPoolsExactlyOnce(target: InteropTarget, count: number): void {
  it(`pool of connections, ${count} mails: each delivered, stored exactly once`, async function () {
    this.timeout(BULK_TIMEOUT_MS);
    const { server } = target.handle;
    const pool = createPool({ server: { host: '127.0.0.1', port: server.port }, tls: 'none', clientName: 'client.test', ...target.options });
    const written: string[] = [];
    pool.transcript$.subscribe((t) => t.direction === 'client' && written.push(t.line));
    const mails = bulkMails(target, 'pool', count);
    try {
      const fates = (await lastValueFrom(pool.sendAll(mails).pipe(toArray()))).map(fateOf);
      expect(failuresOf(fates)).to.deep.equal({});
      expect(fates.map((fate) => fate.mail)).to.have.members(mails);
    } finally {
      await lastValueFrom(pool.close(), { defaultValue: undefined });
    }
    expect(endsOfData(written)).to.equal(count);
    await expectStoredOnce(target, mails);
  });
}

/** The recipients of every copy stored from `from` (one copy, or one per recipient). */
async function storedRecipients(target: InteropTarget, from: string, recipients: number): Promise<string[]> {
  const stored = await target.store.from(from, target.copyPerRecipient ? recipients : 1);
  return stored.flatMap((s) => s.json.rcpt_tos).sort();
}

/**
 * `reject@` refused with 550 and `defer@` with `deferCode`, each reported for its recipient while the
 * others get the message; a mail with no recipient accepted is a failure of that mail alone.
 */
export function itReportsEachRecipient(f: SessionFixture, target: InteropTarget, deferCode: number): void {
  it(`reports reject@ (550) and defer@ (${deferCode}) per recipient; the others get the message`, async () => {
    const { session } = await connectTo(f, target);
    const from = target.store.sender('recipients');
    const to = ['b@example.test', 'reject@example.test', 'defer@example.test', 'c@example.test'];
    const result = await lastValueFrom(session.send({ from, to, body: 'Subject: some refused\r\n\r\nhi\r\n' }));
    expect(result.accepted).to.deep.equal(['b@example.test', 'c@example.test']);
    expect(result.rejected.map((r) => [r.recipient, r.reply.code])).to.deep.equal([
      ['reject@example.test', 550],
      ['defer@example.test', deferCode],
    ]);
    expect(await storedRecipients(target, from, 2)).to.deep.equal(['b@example.test', 'c@example.test']);
  });

  it('in a sendAll, a mail to reject@ or defer@ only fails alone (ESERVERPERM, ESERVERTEMP); the next is delivered', async () => {
    const { session } = await connectTo(f, target);
    const from = target.store.sender('all-refused');
    const mail = (to: string): Mail => ({ from, to, body: `Subject: to ${to}\r\n\r\nhi\r\n` });
    const fates = (await outcomesOf(session.sendAll([mail('reject@example.test'), mail('defer@example.test'), mail('b@example.test')]))).map(fateOf);
    expect(fates.map((fate) => fate.code)).to.deep.equal(['ESERVERPERM', 'ESERVERTEMP', 'ok']);
    expect(await storedRecipients(target, from, 1)).to.deep.equal(['b@example.test']);
  });

  // Issue 10, defect 1: no RSET after a transaction whose every recipient was refused.
  it('after a send() whose every recipient was refused, the next send() is delivered (RSET between them)', async () => {
    const { session } = await connectTo(f, target);
    const from = target.store.sender('after-refused');
    const refused = await errorOf(session.send({ from, to: 'reject@example.test', body: 'Subject: refused\r\n\r\nno\r\n' }));
    expect(refused).to.deep.include({ code: 'ESERVERPERM' });
    expect(refused.reply?.code).to.equal(550);
    const result = await lastValueFrom(session.send({ from, to: 'b@example.test', body: 'Subject: next\r\n\r\nyes\r\n' }));
    expect(result.accepted).to.deep.equal(['b@example.test']);
    expect(await storedRecipients(target, from, 1)).to.deep.equal(['b@example.test']);
  });
}
