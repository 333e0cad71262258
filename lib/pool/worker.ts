import {
  EMPTY,
  type Observable,
  catchError,
  concat,
  concatMap,
  defer,
  finalize,
  ignoreElements,
  filter,
  map,
  merge,
  of,
  repeat,
  take,
  takeUntil,
  tap,
  timeout,
} from 'rxjs';
import { SmtpError, asSmtpError } from '../errors';
import type { SessionOptions } from '../options';
import { SendAllError } from '../send/send-all-error';
import { type SmtpSession, createSession } from '../session';
import type { Job } from './batch';
import type { PoolCore } from './core';

export type { WorkerStatus } from './core';
import { type PoolOutcome, failed, uncertain } from './outcome';

/**
 * Mails handed to one connection and not yet answered. Two is enough for RFC 2920 across messages:
 * the next mail is already there when the previous one's end of data leaves, so both go in one
 * write; more would only hold mails that another connection could be sending.
 */
export const CONNECTION_WINDOW = 2;

/** A connection that dies this many times with a mail on it (before its end of data) fails that mail. */
export const MAX_ATTEMPTS = 3;


/**
 * One connection slot of the pool, as an Observable: connections one after another while there is
 * work. Each waits out the server's backoff, connects, serves mails through {@link CONNECTION_WINDOW}
 * lanes until it has sent `maxMessagesPerConnection`, sat idle for `idleTimeout`, died, or the pool
 * closed, then QUITs when it can. A dead connection is thus replaced. Never errors: every failure
 * settles the mail it concerns.
 *
 * @example
 * ```ts
 * worker$(core, slot).subscribe({ complete: () => core.setStatus(slot, undefined) });
 * ```
 */
export function worker$(core: PoolCore, slot: object): Observable<never> {
  return defer(() => connection$(core, slot)).pipe(
    // Another connection while mails wait, closing or not: close() lets every mail given finish.
    repeat({ delay: () => (core.hasWork() ? of(0) : EMPTY) }),
    catchError((err: unknown) => {
      // A bug here must not strand a mail: whatever this connection held is given a fate by the pool.
      core.workerFailed(slot, asSmtpError(err));
      return EMPTY;
    }),
  );
}

/** One connection's life. */
function connection$(core: PoolCore, slot: object): Observable<never> {
  return defer(() => {
    const session = createSession(sessionOptions(core));
    core.opened(session);
    core.setStatus(slot, 'connecting');
    const { server, username, password } = core.options;
    let up = false;
    // A slot waiting out a backoff stops waiting once there is no work left for it (every mail
    // failed, or close() with nothing to send), and connects only if there is work then.
    // The round of connects this one belongs to is the one it waits for: connects that wait
    // together fail together, and count once however their failures interleave.
    const noWork$ = core.dispatcher.changed$.pipe(filter(() => !core.hasWork()));
    const since = core.health.failuresInARow;
    const connect$ = concat(
      core.health.wait$().pipe(takeUntil(noWork$)),
      defer(() => {
        if (!core.hasWork()) return EMPTY;
        return session.connect(server, username, password).pipe(
          ignoreElements(),
          tap({
            complete: () => {
              up = true;
              core.connected();
              core.setStatus(slot, 'busy');
            },
          }),
          catchError((err: unknown) => {
            core.connectFailed(asSmtpError(err), since);
            return EMPTY;
          }),
        );
      }),
    );
    // A connection that found its server refusing commands behind an end of data tells the pool.
    const learned = session.state$.pipe(filter((s) => s.pipelining === 'within-mail'), take(1)).subscribe(() => core.learnedWithinMail());
    return concat(connect$, defer(() => (up ? serve$(core, slot, session) : EMPTY)), defer(() => (up ? quit$(core, slot, session) : EMPTY))).pipe(
      finalize(() => {
        learned.unsubscribe();
        core.closed(session);
      }),
    );
  });
}

/** The session options of the pool's connections, with what it learned of the server's pipelining. */
function sessionOptions(core: PoolCore): SessionOptions {
  const learned = core.learnedPipelining();
  return learned === undefined ? core.options.session : { ...core.options.session, pipelining: learned };
}

/** Serves mails through the lanes until none goes on. */
function serve$(core: PoolCore, slot: object, session: SmtpSession): Observable<never> {
  const count: LaneCount = { sent: 0, held: 0 };
  const lanes = Array.from({ length: CONNECTION_WINDOW }, () => lane$(core, slot, session, count));
  return merge(...lanes);
}

/** What the lanes of one connection share: mails handed to it in all, and held now. */
interface LaneCount {
  sent: number;
  held: number;
}

/**
 * One lane: takes a job when it has none, hands it to the session (which pipelines it behind the
 * other lane's), and takes the next once that one has its fate. Ends when the connection has sent
 * its share, sat idle, or closed, or when there is no work at all.
 */
function lane$(core: PoolCore, slot: object, session: SmtpSession, count: LaneCount): Observable<never> {
  let goOn = true;
  const step$ = defer(() => {
    goOn = false;
    if (count.sent >= core.options.maxMessagesPerConnection || session.state.status === 'closed') return EMPTY;
    if (count.held === 0) core.setStatus(slot, 'idle');
    // A closed connection stops waiting for work; a mail already handed to it still gets its fate.
    const closed$ = session.state$.pipe(filter((s) => s.status === 'closed'));
    return core.dispatcher.next$().pipe(
      takeUntil(closed$),
      timeout({ first: core.options.idleTimeout, with: () => EMPTY, scheduler: core.scheduler }),
      concatMap((job) => {
        count.sent++;
        count.held++;
        core.setStatus(slot, 'busy');
        // This connection is full: the pool may open another if the inputs show more mails.
        if (count.held >= CONNECTION_WINDOW) core.took();
        // The lane goes on unless the connection failed under this mail.
        return send$(core, session, job, () => (goOn = true)).pipe(finalize(() => count.held--));
      }),
    );
  });
  return step$.pipe(repeat({ delay: () => (goOn ? of(0) : EMPTY) }));
}

/** Sends one job on the session and settles it, or puts it back in line when its end of data never left. */
function send$(core: PoolCore, session: SmtpSession, job: Job, connectionLives: () => void): Observable<never> {
  core.inFlight(1);
  const { signal } = job.batch.controller;
  return session.send(job.mail, { ...job.batch.hooks, signal }).pipe(
    map((result): PoolOutcome | undefined => ({ ok: true, index: job.index, mail: job.mail, result })),
    tap(connectionLives),
    catchError((err: unknown) => {
      if (!connectionEnded(err)) connectionLives();
      return of(fateOfFailure(core, job, err));
    }),
    tap((outcome) => outcome !== undefined && core.settle(job, outcome)),
    ignoreElements(),
    finalize(() => core.inFlight(-1)),
  );
}

/** A send that failed because the connection did (or had), rather than by the server's refusal of the mail. */
function connectionEnded(err: unknown): boolean {
  return err instanceof SendAllError || (err instanceof SmtpError && err.code === 'EPERM');
}

/**
 * A failed send's meaning for the pool: a refusal (or a mail that cannot be sent as it is) is the
 * mail's outcome; a mail whose end of data left when the connection died is uncertain; one that
 * never reached its end of data goes back in line, unless it has had its chances or its call was
 * cancelled. Undefined when the mail goes back.
 */
function fateOfFailure(core: PoolCore, job: Job, err: unknown): PoolOutcome | undefined {
  const error = asSmtpError(err);
  if (error instanceof SendAllError) {
    const cause = error.cause instanceof SmtpError ? error.cause : error;
    if (error.uncertain.length > 0) return uncertain(job, cause);
    if (job.batch.cancelled) return failed(job, error);
    return retry(core, job, cause);
  }
  // Not connected any more (the connection closed between taking the mail and handing it over): never sent.
  if (error.code === 'EPERM' && !job.batch.cancelled) return retry(core, job, error);
  return failed(job, error);
}

function retry(core: PoolCore, job: Job, cause: SmtpError): PoolOutcome | undefined {
  job.attempts++;
  if (job.attempts >= MAX_ATTEMPTS) return failed(job, cause);
  core.dispatcher.retry(job);
  return undefined;
}

/** QUIT, unless the connection already ended; its failure is of no consequence. */
function quit$(core: PoolCore, slot: object, session: SmtpSession): Observable<never> {
  return defer(() => {
    if (session.state.status === 'closed') return EMPTY;
    core.setStatus(slot, 'closing');
    return session.quit().pipe(
      ignoreElements(),
      catchError(() => EMPTY),
    );
  });
}
