import { lastValueFrom } from 'rxjs';
import type * as sinon from 'sinon';
import { SmtpError } from '../../lib/errors';
import { SendAllError } from '../../lib/send/send-all-error';
import type { Mail, SendOutcome } from '../../lib/mail/mail';
import { createSession } from '../../lib/session';
import { pick, random } from '../fixtures/random';
import { GREETING, ehloReply, hostileServer, turns, type HostilePeer } from './hostile-server';

/**
 * The soak: many sessions, each sending a few mails with `sendAll`, against one server that
 * injects a random fault (close, reset, stall, 421, 4xx, 5xx, garbage) at a random point of a
 * random connection. It keeps the books on both sides and returns every way they disagree.
 * `npm run soak` (test/hostile/soak.ts) runs it at full size in real time; soak.test.ts runs a
 * short one under fake timers inside `npm test`.
 */

export interface SoakOptions {
  sessions: number;
  /** Sessions running at once. */
  concurrency: number;
  /** Each session sends 1 to this many mails. */
  maxMails: number;
  /** Share of connections that get a fault, 0..1. */
  faultRate: number;
  seed: number;
  /** The sessions' `timeout` option, ms. */
  timeout: number;
  /** Fake timers to drive: the clock moves on by `timeout` whenever nothing else is happening. */
  clock?: sinon.SinonFakeTimers;
  onProgress?: (done: number) => void;
}

export interface SoakReport {
  sessions: number;
  mails: number;
  /** How the mails ended: emitted ok / ok: false, or listed by a SendAllError as uncertain / not sent. */
  outcomes: { ok: number; failed: number; uncertain: number; notSent: number };
  /** Mails the server answered 250 to the end of data for. */
  accepted: number;
  /** Accepted by the server, but the 250 never reached the client in time: reported uncertain. */
  acceptedButUncertain: number;
  connectFailures: number;
  faults: Record<string, number>;
  /** Every broken promise: a mail with no outcome or two, delivered but not received, ... */
  violations: string[];
}

const KINDS = ['close', 'reset', 'stall', '421', '4xx', '5xx', 'garbage'] as const;
const POINTS = ['greeting', 'EHLO', 'MAIL', 'RCPT', 'DATA', 'body', '.', 'RSET', 'QUIT'] as const;
/** Points that come once per connection: their fault is due the first time. */
const ONCE: readonly string[] = ['greeting', 'EHLO', 'QUIT'];
type Kind = (typeof KINDS)[number];
type Point = (typeof POINTS)[number];
interface Fault {
  kind: Kind;
  at: Point;
  /** Which occurrence of the point (the nth MAIL, ...). */
  nth: number;
}

/** Runs the soak and returns its report; violations is empty when every promise was kept. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const accepted = new Set<string>();
  const faults: Record<string, number> = {};
  let activity = 0;
  const plans: (Fault | undefined)[] = [];

  const server = await hostileServer(async (peer, index) => {
    const rng = random(options.seed * 7919 + index);
    const fault: Fault | undefined =
      rng() < options.faultRate ? { kind: pick(rng, KINDS), at: pick(rng, POINTS), nth: Math.floor(rng() * options.maxMails) } : undefined;
    plans[index] = fault;
    await serve(peer, fault, rng(), accepted, () => activity++);
  }, { record: false });

  const report: SoakReport = {
    sessions: options.sessions,
    mails: 0,
    outcomes: { ok: 0, failed: 0, uncertain: 0, notSent: 0 },
    accepted: 0,
    acceptedButUncertain: 0,
    connectFailures: 0,
    faults,
    violations: [],
  };
  const delivered = new Set<string>();
  const uncertain = new Set<string>();
  let next = 0;
  let finished = 0;

  const runOne = async (s: number): Promise<void> => {
    const rng = random(options.seed * 104_729 + s);
    const session = createSession({ tls: 'none', timeout: options.timeout });
    try {
      try {
        await lastValueFrom(session.connect({ host: '127.0.0.1', port: server.port }));
      } catch {
        report.connectFailures++;
        return;
      }
      const mails = Array.from({ length: 1 + Math.floor(rng() * options.maxMails) }, (_, m) => soakMail(`s${s}m${m}`, rng));
      report.mails += mails.length;
      const seen = new Map<number, string[]>(mails.map((_, i) => [i, []]));
      const outcomes: SendOutcome[] = [];
      let error: unknown;
      await new Promise<void>((resolve) =>
        session.sendAll(mails).subscribe({
          next: (o) => outcomes.push(o),
          error: (err: unknown) => ((error = err), resolve()),
          complete: resolve,
        }),
      );
      activity++;
      for (const o of outcomes) seen.get(o.index)?.push(o.ok ? 'ok' : 'failed');
      if (error instanceof SendAllError) {
        for (const ref of error.uncertain) seen.get(ref.index)?.push('uncertain');
        for (const ref of error.notSent) seen.get(ref.index)?.push('notSent');
        const okIndexes = outcomes.filter((o) => o.ok).map((o) => o.index);
        if (error.delivered.length !== okIndexes.length || error.delivered.some((index, i) => index !== okIndexes[i])) {
          report.violations.push(`session ${s}: SendAllError.delivered differs from the ok outcomes`);
        }
      } else if (error instanceof SmtpError && outcomes.length === 0 && error.code === 'EPERM') {
        // The session closed between connect and sendAll: the call took no mail at all.
        for (const fates of seen.values()) fates.push('notSent');
      } else if (error !== undefined) {
        report.violations.push(`session ${s}: sendAll failed with ${String(error)}, not a SendAllError`);
      }
      for (const [index, fates] of seen) {
        const id = idOf(mails[index]!);
        if (fates.length !== 1) report.violations.push(`mail ${id}: ${fates.length} outcomes (${fates.join(', ')})`);
        const fate = fates[0] as keyof SoakReport['outcomes'] | undefined;
        if (fate !== undefined) report.outcomes[fate]++;
        if (fate === 'ok') delivered.add(id);
        if (fate === 'uncertain') uncertain.add(id);
      }
      if (session.state.status === 'connected') await lastValueFrom(session.quit(), { defaultValue: undefined }).catch(() => undefined);
    } finally {
      session.dispose();
      activity++;
      options.onProgress?.(++finished);
    }
  };

  const worker = async (): Promise<void> => {
    while (next < options.sessions) await runOne(next++);
  };
  const workers = Promise.all(Array.from({ length: Math.min(options.concurrency, options.sessions) }, worker));
  if (options.clock !== undefined) await drive(options.clock, options.timeout, workers, () => activity);
  await workers;
  await server.close();

  for (const fault of plans) if (fault !== undefined) faults[`${fault.kind}@${fault.at}`] = (faults[`${fault.kind}@${fault.at}`] ?? 0) + 1;
  report.accepted = accepted.size;
  for (const id of delivered) if (!accepted.has(id)) report.violations.push(`mail ${id}: delivered, but the server never accepted it`);
  for (const id of accepted) {
    if (uncertain.has(id)) report.acceptedButUncertain++;
    else if (!delivered.has(id)) report.violations.push(`mail ${id}: accepted by the server, but reported failed or not sent`);
  }
  report.violations.push(...server.failures.map((f) => `server script threw: ${String(f)}`));
  return report;
}

/** Moves fake time on by `timeout` each time a few turns of the event loop pass with no activity. */
async function drive(clock: sinon.SinonFakeTimers, timeout: number, until: Promise<unknown>, activity: () => number): Promise<void> {
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    const before = activity();
    await turns(5);
    if (!done && activity() === before) await clock.tickAsync(timeout);
  }
}

function soakMail(id: string, rng: () => number): Mail {
  const text = `X-Soak-Id: ${id}\r\nSubject: soak\r\n\r\nbody of ${id}\r\n.\r\nstill ${id}\r\n`;
  const body: Mail['body'] = rng() < 0.25 ? chunks(Buffer.from(text)) : text;
  const mail: Mail = { from: 'soak@example.test', to: rng() < 0.2 ? ['a@example.test', 'b@example.test'] : 'a@example.test', body };
  ids.set(mail, id);
  return mail;
}

async function* chunks(bytes: Buffer): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += 7) yield bytes.subarray(at, at + 7);
}

/** Each soak mail's id, as its X-Soak-Id header carries it to the server. */
const ids = new WeakMap<Mail, string>();
function idOf(mail: Mail): string {
  return ids.get(mail)!;
}

/** An ordinary server, except for `fault`; what it accepts goes into `accepted`. */
async function serve(peer: HostilePeer, fault: Fault | undefined, flavour: number, accepted: Set<string>, tick: () => void): Promise<void> {
  const seen: Record<string, number> = {};
  /** Applies the fault if it is due at `point`; true when the conversation is over. */
  const faulted = async (point: Point): Promise<boolean | 'replied'> => {
    const nth = seen[point] ?? 0;
    seen[point] = nth + 1;
    if (fault === undefined || fault.at !== point || nth !== (ONCE.includes(point) ? 0 : fault.nth)) return false;
    switch (fault.kind) {
      case 'close':
        peer.end();
        return true;
      case 'reset':
        peer.destroy();
        return true;
      case 'stall':
        await peer.closed;
        return true;
      case '421':
        await peer.send('421 4.3.2 shutting down\r\n');
        peer.end();
        return true;
      case 'garbage':
        await peer.send('\u0000\u00ffnot smtp at all\r\n');
        return 'replied';
      case '4xx':
        await peer.send('451 4.3.0 try later\r\n');
        return 'replied';
      case '5xx':
        await peer.send('554 5.7.1 no\r\n');
        return 'replied';
    }
  };
  if (await faulted('greeting')) return;
  await peer.send(GREETING);
  const capabilities = flavour < 0.7 ? ['PIPELINING', '8BITMIME'] : ['8BITMIME'];
  for (let line = await peer.line(); line !== undefined; line = await peer.line()) {
    tick();
    const verb = line.split(' ')[0]!.toUpperCase() as Point;
    const result = await faulted(verb);
    if (result === true) return;
    if (result === 'replied') continue;
    if (verb === 'QUIT') {
      await peer.send('221 bye\r\n');
      return peer.end();
    }
    if (verb !== 'DATA') {
      await peer.send(verb === 'EHLO' ? ehloReply(capabilities) : verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' ? '250 ok\r\n' : '502 no\r\n');
      continue;
    }
    await peer.send('354 go\r\n');
    if (await faulted('body')) return;
    const content = await peer.data();
    tick();
    if (content === undefined) return;
    const dotResult = await faulted('.');
    if (dotResult === true) return;
    if (dotResult === 'replied') continue;
    const id = /X-Soak-Id: (\S+)/.exec(content.toString('latin1'))?.[1];
    if (id !== undefined) accepted.add(id);
    await peer.send(`250 2.0.0 queued as ${id ?? 'unknown'}\r\n`);
  }
}
