import { expect } from 'chai';
import { from, lastValueFrom, toArray } from 'rxjs';
import { SmtpError } from '../../lib/errors';
import { SendAllError } from '../../lib/send/send-all-error';
import type { Mail } from '../../lib/mail/mail';
import { type PoolOptions, type PoolOutcome, type PoolState, type SmtpPool, classifyFailure, createPool } from '../../lib/pool';
import { checkAccounting } from '../fixtures/accounting';
import { CallRecorder } from '../fixtures/call-recorder';
import { checkLeaks } from '../fixtures/handles';
import { defaultServerStore } from '../fixtures/mail-store';
import { markedMail } from '../fixtures/marked-mail';
import { type ScriptedServer, type Step, hello, scriptedServer, unstuff } from '../fixtures/scripted-server';
import { defaultServer } from '../fixtures/default-server';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { numbered } from '../send/helpers';

const MAIL = /^MAIL FROM:/;
const RCPT = /^RCPT TO:/;

describe('pool', () => {
  let pool: SmtpPool | undefined;
  let server: SmtpServerFixture | undefined;
  let scripted: ScriptedServer | undefined;
  afterEach(async () => {
    if (pool !== undefined) await lastValueFrom(pool.close(), { defaultValue: undefined });
    await server?.close();
    await scripted?.close();
    pool = server = scripted = undefined;
  });
  checkLeaks();

  const open = (port: number, options: Partial<PoolOptions> = {}): SmtpPool =>
    (pool = createPool({ server: { host: '127.0.0.1', port }, tls: 'none', idleTimeout: 20, ...options }));
  const mails = (n: number): Mail[] => Array.from({ length: n }, (_, i) => numbered(i));
  const outcomes = (p: SmtpPool, input: Parameters<SmtpPool['sendAll']>[0]): Promise<PoolOutcome[]> =>
    lastValueFrom(p.sendAll(input).pipe(toArray()));

  /** smtp-server that counts its concurrent connections. */
  async function countingServer(): Promise<{ peak: () => number; total: () => number }> {
    let now = 0;
    let peak = 0;
    let total = 0;
    server = await startSmtpServer({
      onConnect(_session, callback) {
        now++;
        total++;
        peak = Math.max(peak, now);
        callback();
      },
      onClose() {
        now--;
      },
    });
    return { peak: () => peak, total: () => total };
  }

  it('delivers every mail once, byte for byte, each outcome tagged with its mail', async () => {
    await countingServer();
    const given = mails(30);
    const result = await outcomes(open(server!.port), given);

    expect(result).to.have.length(30);
    expect(result.every((o) => o.ok)).to.equal(true);
    // By index: chai compares Sets of objects in insertion order, and outcomes come in completion order.
    const index = (o: PoolOutcome): number => given.indexOf(o.mail);
    expect(result.map(index).sort((a, b) => a - b)).to.deep.equal(given.map((_, i) => i));
    const received = server!.messages.map((m) => m.raw.toString()).sort();
    expect(received).to.deep.equal(given.map((m) => m.body as string).sort());
  });

  it('never has more than maxConnections open, and uses them', async () => {
    const counts = await countingServer();
    await outcomes(open(server!.port, { maxConnections: 3 }), mails(60));

    expect(counts.peak()).to.equal(3);
    expect(server!.messages).to.have.length(60);
  });

  it('QUITs after maxMessagesPerConnection and goes on over a fresh connection', async () => {
    const counts = await countingServer();
    await outcomes(open(server!.port, { maxConnections: 1, maxMessagesPerConnection: 4 }), mails(10));

    expect(counts.total()).to.equal(3);
    expect(counts.peak()).to.equal(1);
    expect(server!.messages).to.have.length(10);
  });

  // Found with issue 10's tests: no connection was left to poll a spent array, so the call never ended.
  it('completes when its last mail ends the last connection at maxMessagesPerConnection, and at once for an empty input', async () => {
    scripted = await defaultServer();
    const p = open(scripted.port, { maxConnections: 1, maxMessagesPerConnection: 2 });
    expect((await outcomes(p, mails(4))).filter((o) => o.ok)).to.have.length(4);
    expect(await outcomes(p, [])).to.deep.equal([]);
    expect(scripted.connections).to.equal(2);
  });

  it('send() gives one result; a refusal errors with its SmtpError', async () => {
    scripted = await defaultServer({ RCPT: (line) => (line.includes('nobody@') ? '550 5.1.1 No such user\r\n' : '250 2.1.5 Ok\r\n') });
    const p = open(scripted.port);

    const result = await lastValueFrom(p.send(numbered(1)));
    expect(result.accepted).to.deep.equal(['rcpt1@example.test']);
    const error = await lastValueFrom(p.send(numbered(2, { to: 'nobody@example.test' }))).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(SmtpError);
    expect((error as SmtpError).code).to.equal('ESERVERPERM');
  });

  it('classifies failures: 5xx permanent, 4xx (greylisting) transient', async () => {
    scripted = await defaultServer({
      RCPT: (line) => {
        if (line.includes('grey@')) return '450 4.7.1 Greylisted, try again later\r\n';
        if (line.includes('nobody@')) return '550 5.1.1 No such user\r\n';
        return '250 2.1.5 Ok\r\n';
      },
    });
    const given = [numbered(0, { to: 'grey@example.test' }), numbered(1, { to: 'nobody@example.test' }), numbered(2)];
    const result = await outcomes(open(scripted.port, { maxConnections: 1 }), given);

    const kind = (m: Mail): string => {
      const o = result.find((x) => x.mail === m)!;
      return o.ok ? 'sent' : o.failure;
    };
    expect(given.map(kind)).to.deep.equal(['transient', 'permanent', 'sent']);
  });

  it('fails each mail with the connect error when the server cannot be reached, and ends', async () => {
    scripted = await defaultServer();
    const port = scripted.port;
    await scripted.close();
    scripted = undefined;
    const result = await outcomes(open(port, { maxConnections: 2 }), mails(5));

    expect(result.map((o) => (o.ok ? 'ok' : `${o.error.code} ${o.failure}`))).to.deep.equal(Array(5).fill('ECONNREFUSED transient'));
  });

  it('replaces a connection that dies mid-stream: every mail one outcome, delivered = received', async () => {
    // Connection 0 takes mail 0, then dies after mail 1's end of data (mail 1 uncertain, mail 2's
    // pipelined MAIL/RCPT/DATA never answered: it goes back in line); connection 1 takes the rest.
    const first: Step[] = [
      ...hello(['PIPELINING']),
      { expect: MAIL, send: '250 2.1.0 Ok\r\n' },
      { expect: RCPT, send: '250 2.1.5 Ok\r\n' },
      { expect: 'DATA', send: '354 go ahead\r\n' },
      { expectData: true, send: '250 2.0.0 Ok: queued as A\r\n' },
      { expect: MAIL, send: '250 2.1.0 Ok\r\n' },
      { expect: RCPT, send: '250 2.1.5 Ok\r\n' },
      { expect: 'DATA', send: '354 go ahead\r\n' },
      { expectData: true },
      { destroy: true },
    ];
    const rest: Step[] = [...hello(['PIPELINING'])];
    for (let i = 2; i < 5; i++) {
      rest.push(
        { expect: MAIL, send: '250 2.1.0 Ok\r\n' },
        { expect: RCPT, send: '250 2.1.5 Ok\r\n' },
        { expect: 'DATA', send: '354 go ahead\r\n' },
        { expectData: true, send: `250 2.0.0 Ok: queued as B${i}\r\n` },
      );
    }
    rest.push({ expect: 'QUIT', send: '221 bye\r\n' }, { close: true });
    scripted = await scriptedServer((n) => (n === 0 ? first : rest));
    const given = mails(5);
    const result = await outcomes(open(scripted.port, { maxConnections: 1 }), given);

    const index = (o: PoolOutcome): number => given.indexOf(o.mail);
    expect(result.map(index).sort()).to.deep.equal([0, 1, 2, 3, 4]);
    const delivered = result.filter((o) => o.ok).map(index);
    const unsure = result.filter((o) => !o.ok && o.failure === 'uncertain').map(index);
    expect(delivered).to.deep.equal([0, 2, 3, 4]);
    expect(unsure).to.deep.equal([1]);
    const lost = result.find((o) => !o.ok);
    expect(lost?.ok === false && lost.error).to.be.instanceOf(SendAllError).and.deep.include({ uncertain: [{ index: 1, mail: given[1] }] });
    expect(classifyFailure(lost?.ok === false && lost.error)).to.equal('uncertain');
    expect(scripted.failures).to.deep.equal([]);
    expect(scripted.connections).to.equal(2);
    // Delivered (and the uncertain one, which the server did receive) are exactly what it stored.
    expect(scripted.data.map((d) => unstuff(d).toString())).to.deep.equal([0, 1, 2, 3, 4].map((i) => given[i]!.body as string));
  });

  // Issue 10, defect 2, through a pool: what one connection learned, the next ones start with.
  it('remembers a server that refuses commands pipelined behind an end of DATA: only its first connection meets the 503', async () => {
    scripted = await defaultServer({}, { capabilities: ['PIPELINING'], refusePipelinedAfterData: true });
    const store = defaultServerStore(scripted);
    const since = store.mark();
    const p = open(scripted.port, { maxConnections: 1, maxMessagesPerConnection: 2 });
    const refusals = new Map<number, number>();
    p.transcript$.subscribe((t) => t.line.startsWith('503 ') && refusals.set(t.connection, (refusals.get(t.connection) ?? 0) + 1));
    const given = Array.from({ length: 6 }, (_, i) => markedMail(`pool-haraka-${i}`));
    const call = new CallRecorder('pool sendAll', 'sendAll', given).start(p.sendAll(given));
    await call.ended;
    await lastValueFrom(p.close(), { defaultValue: undefined });

    const record = call.finish();
    expect(await checkAccounting({ calls: [record], store, since })).to.deep.equal([]);
    expect(record.fates).to.deep.equal(Array(6).fill(['delivered']));
    expect(scripted.connections).to.equal(3);
    // Connection 1 pipelined its second mail behind the first's end of data once (MAIL, RCPT, DATA refused).
    expect([...refusals]).to.deep.equal([[1, 3]]);
  });

  it('pulls a lazy input only as connections free up (backpressure)', async () => {
    scripted = await defaultServer();
    let pulled = 0;
    let finished = false;
    function* lazy(): Generator<Mail> {
      try {
        for (let i = 0; i < 100_000; i++) {
          pulled++;
          yield numbered(i);
        }
      } finally {
        finished = true;
      }
    }
    const p = open(scripted.port, { maxConnections: 2 });
    let settled = 0;
    let worstLead = 0;
    await new Promise<void>((resolve, reject) => {
      const subscription = p.sendAll(lazy()).subscribe({
        next: () => {
          settled++;
          worstLead = Math.max(worstLead, pulled - settled);
          if (settled === 300) {
            subscription.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    // Two connections, two mails in flight on each, one being pulled: never more ahead than that.
    expect(worstLead).to.be.at.most(5);
    expect(pulled).to.be.below(310);
    expect(finished).to.equal(true); // the generator was told to return
  });

  it('opens one connection for a lazy input of one mail, and more only as it shows more mails', async () => {
    scripted = await defaultServer();
    function* count(n: number): Generator<Mail> {
      for (let i = 0; i < n; i++) yield numbered(i);
    }
    async function* later(n: number): AsyncGenerator<Mail> {
      for (let i = 0; i < n; i++) yield numbered(i);
    }
    const lone = await outcomes(open(scripted.port, { maxConnections: 5 }), count(1));
    await lastValueFrom(pool!.close(), { defaultValue: undefined });
    const loneAsync = await outcomes(open(scripted.port, { maxConnections: 5 }), later(1));
    await lastValueFrom(pool!.close(), { defaultValue: undefined });
    expect([...lone, ...loneAsync].map((o) => o.ok)).to.deep.equal([true, true]);
    expect(scripted.connections).to.equal(2);

    // A long one fills every connection it may use: each time every lane is busy and it gave one more.
    const many = await outcomes(open(scripted.port, { maxConnections: 3 }), count(60));
    expect(many.filter((o) => o.ok)).to.have.length(60);
    expect(scripted.connections).to.equal(2 + 3);
  });

  it('takes an Observable input (buffered as it pushes): every mail once', async () => {
    scripted = await defaultServer();
    const given = mails(7);
    const result = await outcomes(open(scripted.port, { maxConnections: 2 }), from(given));

    expect(result.filter((o) => o.ok)).to.have.length(7);
    expect(scripted.data.map((d) => unstuff(d).toString()).sort()).to.deep.equal(given.map((m) => m.body as string).sort());
  });

  it('state$ shows connections, in flight, sent and failed, and completes once closed', async () => {
    scripted = await defaultServer({ RCPT: (line) => (line.includes('nobody@') ? '550 5.1.1 No\r\n' : '250 2.1.5 Ok\r\n') });
    const p = open(scripted.port, { maxConnections: 2 });
    const states: PoolState[] = [];
    const done = new Promise<void>((resolve) => p.state$.subscribe({ next: (s) => states.push(s), complete: resolve }));
    await outcomes(p, [...mails(4), numbered(9, { to: 'nobody@example.test' })]);
    await lastValueFrom(p.close(), { defaultValue: undefined });
    await done;

    const last = states[states.length - 1]!;
    expect(last).to.deep.include({ sent: 4, failed: 1, inFlight: 0, queued: 0, closing: true });
    expect(last.connections).to.deep.equal({ connecting: 0, busy: 0, idle: 0, closing: 0 });
    expect(Math.max(...states.map((s) => s.connections.busy + s.connections.connecting))).to.be.within(1, 2);
    expect(Math.max(...states.map((s) => s.inFlight))).to.be.at.least(1);
  });

  it('close() lets mail already given finish, QUITs, and refuses new mail with EPERM', async () => {
    scripted = await defaultServer();
    const p = open(scripted.port, { idleTimeout: 60_000 });
    const pending = outcomes(p, mails(6));
    await scripted.received(MAIL);
    await lastValueFrom(p.close(), { defaultValue: undefined });

    expect((await pending).filter((o) => o.ok)).to.have.length(6);
    expect(scripted.lines.filter((l) => l === 'QUIT').length).to.be.at.least(1);
    const error = await lastValueFrom(p.send(numbered(7))).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(SmtpError);
    expect((error as SmtpError).code).to.equal('EPERM');
  });

  it('an input that fails: the mails it gave get their outcomes, then EIO with the cause', async () => {
    scripted = await defaultServer();
    async function* failing(): AsyncGenerator<Mail> {
      yield numbered(0);
      yield numbered(1);
      throw new Error('disk gone');
    }
    const seen: PoolOutcome[] = [];
    const error = await new Promise<unknown>((resolve) =>
      open(scripted!.port).sendAll(failing()).subscribe({ next: (o) => seen.push(o), error: resolve, complete: () => resolve(undefined) }),
    );

    expect(seen.filter((o) => o.ok)).to.have.length(2);
    expect(error).to.be.instanceOf(SmtpError);
    expect((error as SmtpError).code).to.equal('EIO');
    expect((((error as SmtpError).cause as SmtpError).cause as Error).message).to.equal('disk gone');
  });

  it('transcript$ carries the lines of every connection, numbered, AUTH redacted', async () => {
    scripted = await defaultServer();
    const p = open(scripted.port, { maxConnections: 2, username: 'alice', password: 's3cret', allowInsecureAuth: true, authMechanisms: ['PLAIN'] });
    const lines: { connection: number; line: string }[] = [];
    p.transcript$.subscribe((t) => lines.push({ connection: t.connection, line: t.line }));
    await outcomes(p, mails(6));

    expect(new Set(lines.map((l) => l.connection))).to.deep.equal(new Set([1, 2]));
    const auth = lines.filter((l) => l.line.startsWith('AUTH'));
    expect(auth).to.have.length(2);
    for (const { line } of auth) expect(line).to.equal('AUTH PLAIN [redacted]');
    expect(lines.map((l) => l.line).join('\n')).to.not.contain(Buffer.from('\0alice\0s3cret').toString('base64'));
  });

  it('refuses bad options with EINVAL before connecting', () => {
    for (const bad of [{ maxConnections: 0 }, { maxMessagesPerConnection: 1.5 }, { rateLimit: { messages: 0, perMs: 10 } }, { idleTimeout: -1 }, { username: 'alice' }, { timeOut: 5 }]) {
      expect(() => createPool({ server: 'localhost:2525', ...(bad as object) }), JSON.stringify(bad))
        .to.throw(SmtpError)
        .with.property('code', 'EINVAL');
    }
    expect(() => createPool({ server: 'smtp://local host' })).to.throw(SmtpError).with.property('code', 'EINVAL');
  });
});
