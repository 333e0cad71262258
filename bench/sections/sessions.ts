import type { SessionRuns } from '../figures/sessions';
import type { Handshakes, TlsSessionRuns } from '../figures/tls-sessions';
import { type Row, median } from '../report';
import { type Builds, buildEnv } from '../rx';
import { runChild } from '../servers';
import { type Context, type Section, type Sizes, fmt, rateRow } from './context';

/**
 * connect + EHLO + AUTH PLAIN + QUIT against the mini sink with AUTH PLAIN (smtp-sink answers AUTH
 * with 250, not 235), a new rx-smtp session each time.
 *
 * @example
 * ```ts
 * const rows = await sessionsSection.rows(ctx);
 * ```
 */
export const sessionsSection: Section = {
  name: 'sessions',
  async rows({ builds, sizes, runs, log }: Context): Promise<Row[]> {
    log(
      `sessions: ${sizes.sessionRounds} rounds of ${sizes.sessions} connect+EHLO+AUTH PLAIN+QUIT against mini-sink with AUTH PLAIN (child process), after ${sizes.sessionWarmUp} unmeasured, in a fresh process`,
    );
    const s = await runChild<SessionRuns>('sessions-child.ts', childArgs('plain', builds, sizes.sessions, sizes));
    runs.sessions = s;
    return [rateRow('connect+EHLO+AUTH PLAIN+QUIT sessions/s', s, s.nodemailer, { unit: '/s', target: '>= 1.5x', targetRatio: 1.5 })];
  },
};

/**
 * connect + STARTTLS + AUTH PLAIN + QUIT against the mini sink with STARTTLS, rx-smtp reconnecting
 * one session; each side's cell says how many of its handshakes the server resumed.
 *
 * @example
 * ```ts
 * const rows = await tlsSection.rows(ctx);
 * ```
 */
export const tlsSection: Section = {
  name: 'tls',
  async rows({ builds, sizes, runs, log }: Context): Promise<Row[]> {
    log(
      `TLS sessions: ${sizes.sessionRounds} rounds of ${sizes.tlsSessions} connect+STARTTLS+AUTH PLAIN+QUIT against mini-sink with STARTTLS and AUTH PLAIN (child process), after ${sizes.sessionWarmUp} unmeasured, in a fresh process`,
    );
    const s = await runChild<TlsSessionRuns>('sessions-child.ts', childArgs('tls', builds, sizes.tlsSessions, sizes));
    runs.tlsSessions = s;
    const resumed = (side: string): string => share(s.tls[side]);
    return [
      rateRow('connect+STARTTLS+AUTH PLAIN+QUIT sessions/s', s, s.nodemailer, {
        unit: '/s',
        target: '>= 1.3x',
        targetRatio: 1.3,
        rxNote: ` (${resumed('rx')} resumed)`,
        peerCell: `${fmt(median(s.nodemailer))}/s (${resumed('nodemailer')} resumed)`,
      }),
    ];
  },
};

/**
 * The sessions figures run in a fresh process (`bench/sessions-child.ts`): what the figures before
 * them left in this one (code optimised for other work, garbage) held rx-smtp's TLS rounds at 0.6x
 * to 0.95x of their rate in a process of their own, and not nodemailer's (bench/README.md).
 */
function childArgs(kind: 'plain' | 'tls', builds: Builds, count: number, sizes: Sizes): string[] {
  return [kind, String(count), String(sizes.sessionRounds), String(sizes.sessionWarmUp), ...(builds.baseline === undefined ? [] : ['--baseline'])];
}

function share(h: Handshakes | undefined): string {
  return h === undefined || h.handshakes === 0 ? 'none' : `${Math.round((100 * h.resumed) / h.handshakes)}%`;
}

interface IdleRun {
  heapPerSession: number;
  connected: number;
  failed: number;
}

/** Issue 11: the idle heap per session stays at or below what the build before the rebuild held. */
const IDLE_HEAP_BOUND_BYTES = 5.1 * 1024;

/**
 * Idle connected sessions, each client in a fresh `--expose-gc` process: heap per session.
 *
 * @example
 * ```ts
 * const rows = await idleSection.rows(ctx);
 * ```
 */
export const idleSection: Section = {
  name: 'idle',
  async rows({ builds, sink, sizes, runs, log }: Context): Promise<Row[]> {
    log(`idle sessions: ${sizes.idleSessions} connected at once, each client in a fresh process`);
    const flags = ['--expose-gc'];
    const args = (client: string): string[] => [client, String(sink.port), String(sizes.idleSessions)];
    const rx = await runChild<IdleRun>('idle-child.ts', args('rx'), flags, buildEnv('rx'));
    const baseline = builds.baseline === undefined ? undefined : await runChild<IdleRun>('idle-child.ts', args('rx'), flags, buildEnv('baseline'));
    const nm = await runChild<IdleRun>('idle-child.ts', args('nodemailer'), flags);
    runs.idle = { rx, baseline, nodemailer: nm };
    const ratio = rx.heapPerSession / nm.heapPerSession;
    const cell = (run: IdleRun): string => `${fmt(run.heapPerSession / 1024, 1)} KiB (${run.connected} ok, ${run.failed} failed)`;
    const row: Row = {
      figure: `${fmt(sizes.idleSessions)} idle sessions: heap/session`,
      rx: cell(rx),
      peer: cell(nm),
      ratio,
      target: '<= 1x, all connect',
      targetRatio: 1,
      lowerIsBetter: true,
      met: ratio <= 1 && rx.failed === 0 && rx.connected === sizes.idleSessions,
    };
    if (baseline !== undefined) {
      row.baseline = rx.heapPerSession / baseline.heapPerSession;
      row.limit = `issue 11: <= ${fmt(IDLE_HEAP_BOUND_BYTES / 1024, 1)} KiB: ${rx.heapPerSession <= IDLE_HEAP_BOUND_BYTES ? 'yes' : 'NO'} (baseline ${fmt(baseline.heapPerSession / 1024, 1)} KiB)`;
    }
    return [row];
  },
};
