import { EMPTY, Subject, catchError, filter, firstValueFrom, lastValueFrom, map, merge, race, take, timer } from 'rxjs';
import { SendAllError, SmtpError } from '../errors';
import type { Mail } from '../mail/mail';
import { type SmtpSession, createSession } from '../session';
import type { Dispatcher, Job } from './dispatcher';
import type { ResolvedPoolOptions } from './options';
import type { PoolTranscriptLine } from './pool';
import { type PoolOutcome, failed, uncertain } from './outcome';

/**
 * Mails handed to one connection and not yet answered. Two is enough for RFC 2920 across messages:
 * the next mail is already there when the previous one's end of data leaves, so both go in one
 * write; more would only hold mails that another connection could be sending.
 */
export const CONNECTION_WINDOW = 2;

/** A connection that dies this many times with a mail on it (before its end of data) fails that mail. */
export const MAX_ATTEMPTS = 3;

/** What a connection slot is doing, for the pool's state. */
export type WorkerStatus = 'connecting' | 'busy' | 'idle' | 'closing';

/** What a worker needs from its pool. */
export interface PoolCore {
  readonly options: ResolvedPoolOptions;
  readonly dispatcher: Dispatcher;
  readonly closing: boolean;
  /** Emits when work may have arrived, or the pool starts closing. */
  readonly wake$: Subject<void>;
  settle(job: Job, outcome: PoolOutcome): void;
  setStatus(worker: Worker, status: WorkerStatus | undefined): void;
  /** Mails handed to a session whose outcome is not known yet. */
  inFlight(delta: number): void;
  /** Where each connection's transcript goes, numbered. */
  readonly transcriptLines$: Subject<PoolTranscriptLine>;
  nextConnectionId(): number;
  /** Sessions open now, so that an abort can close them at once. */
  readonly sessions: Set<SmtpSession>;
}

/**
 * One connection slot of the pool: takes a job, connects, and feeds that connection's `sendAll`
 * with more jobs as it has room, until it has sent `maxMessagesPerConnection`, sat idle for
 * `idleTimeout`, died, or the pool closed. Then it QUITs (when it can) and, when there is more work,
 * starts a fresh connection; a dead one is thus replaced.
 */
export class Worker {
  constructor(private readonly core: PoolCore) {}

  /** Runs until there is no work left for it. */
  async run(): Promise<void> {
    try {
      let job = await this.core.dispatcher.next();
      while (job !== undefined) {
        await this.connection(job);
        job = await this.core.dispatcher.next();
      }
    } finally {
      this.core.setStatus(this, undefined);
    }
  }

  /** One connection's life, starting with `first`. */
  private async connection(first: Job): Promise<void> {
    const { options } = this.core;
    this.core.setStatus(this, 'connecting');
    const session = createSession(options.session);
    this.core.sessions.add(session);
    const id = this.core.nextConnectionId();
    // Only while someone listens: the session formats its transcript for subscribers alone.
    const transcript = this.core.transcriptLines$.observed
      ? session.transcript$.subscribe((line) => this.core.transcriptLines$.next({ ...line, connection: id }))
      : undefined;
    try {
      try {
        await lastValueFrom(session.connect(options.server, options.username, options.password));
      } catch (error) {
        // The mail it connected for fails with why; the next mail tries a connection of its own.
        this.core.settle(first, failed(first.mail, error));
        return;
      }
      this.core.setStatus(this, 'busy');
      const clean = await this.feed(session, first);
      if (clean) {
        this.core.setStatus(this, 'closing');
        await lastValueFrom(session.quit().pipe(catchError(() => EMPTY)), { defaultValue: undefined });
      }
    } finally {
      session.dispose();
      this.core.sessions.delete(session);
      transcript?.unsubscribe();
    }
  }

  /**
   * Feeds the session's `sendAll` and settles each job from its outcome (they come in the order
   * given). Resolves true when the connection ended in step (QUIT is worth sending).
   */
  private feed(session: SmtpSession, first: Job): Promise<boolean> {
    const mails$ = new Subject<Mail>();
    const given: Job[] = [];
    let fed = 0;
    let dead = false;
    const roomOrDeath$ = new Subject<void>();
    const done = new Promise<boolean>((resolve) => {
      session.sendAll(mails$).subscribe({
        next: (outcome) => {
          const job = given.shift()!;
          this.core.inFlight(-1);
          this.core.settle(job, outcome.ok ? outcome : failed(outcome.mail, outcome.error));
          roomOrDeath$.next();
        },
        error: (error: unknown) => {
          dead = true;
          this.connectionDied(given.splice(0), error);
          roomOrDeath$.next();
          resolve(false);
        },
        complete: () => resolve(true),
      });
    });
    const give = (job: Job): void => {
      given.push(job);
      fed++;
      this.core.inFlight(1);
      mails$.next(job.mail);
    };
    const loop = async (): Promise<void> => {
      give(first);
      while (!dead && fed < this.core.options.maxMessagesPerConnection) {
        if (given.length >= CONNECTION_WINDOW) {
          await firstValueFrom(roomOrDeath$);
          continue;
        }
        const version = this.core.dispatcher.version;
        const job = await this.core.dispatcher.next();
        if (job === undefined) {
          // Closing: what was given finishes, nothing more is taken.
          if (this.core.closing) break;
          if (this.core.dispatcher.version !== version) continue;
          if (given.length > 0) {
            await firstValueFrom(merge(roomOrDeath$, this.core.wake$));
            continue;
          }
          if (!(await this.idle(session))) break;
          this.core.setStatus(this, 'busy');
          continue;
        }
        if (dead) {
          // Never given to this connection: back in line as it was.
          this.core.dispatcher.retry(job);
          this.core.wake$.next();
          break;
        }
        give(job);
      }
      mails$.complete();
    };
    void loop();
    return done;
  }

  /**
   * Waits for work with nothing in flight. Resolves true when work may have arrived, false when the
   * connection sat idle for `idleTimeout`, closed (a 421, the server hanging up), or the pool is closing.
   */
  private async idle(session: SmtpSession): Promise<boolean> {
    this.core.setStatus(this, 'idle');
    const closed$ = session.state$.pipe(filter((s) => s.status === 'closed'));
    const woke$ = race(
      this.core.wake$.pipe(map(() => !this.core.closing)),
      timer(this.core.options.idleTimeout).pipe(map(() => false)),
      closed$.pipe(map(() => false)),
    ).pipe(take(1));
    return firstValueFrom(woke$, { defaultValue: false });
  }

  /** The connection died: its mails are uncertain (end of data sent) or go back in line. */
  private connectionDied(jobs: Job[], error: unknown): void {
    const fatal = error instanceof SmtpError ? error : new SmtpError('EIO', String(error), { cause: error });
    const unsure = error instanceof SendAllError ? [...error.uncertain] : [];
    for (const job of jobs) {
      this.core.inFlight(-1);
      const i = unsure.indexOf(job.mail);
      if (i >= 0) {
        unsure.splice(i, 1);
        this.core.settle(job, uncertain(job.mail, fatal.cause instanceof SmtpError ? fatal.cause : fatal));
      } else {
        this.retry(job, fatal);
      }
    }
  }

  /** A mail whose end of data never left goes back in line, unless it has had its chances. */
  private retry(job: Job, error: SmtpError): void {
    job.attempts++;
    if (job.attempts >= MAX_ATTEMPTS || job.batch.cancelled) this.core.settle(job, failed(job.mail, error));
    else this.core.dispatcher.retry(job);
    this.core.wake$.next();
  }
}
