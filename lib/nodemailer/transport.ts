import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import {
  BehaviorSubject,
  EMPTY,
  type Observable,
  Subject,
  type Subscription,
  catchError,
  concat,
  concatWith,
  defer,
  exhaustMap,
  filter,
  finalize,
  firstValueFrom,
  ignoreElements,
  lastValueFrom,
  take,
  tap,
} from 'rxjs';
import type { ServerAddress } from '../address';
import { SmtpError } from '../errors';
import type { SendOutcome } from '../mail/mail';
import type { SessionOptions, TlsMode } from '../options';
import { createPool } from '../pool';
import { SendAllError } from '../send/send-all-error';
import { createSession } from '../session';
import { type Dispatcher, type MailSender, connectMapped$, poolDispatcher, senderDispatcher, sessionDispatcher } from './dispatch';
import { type Phase, RxSmtpTransportError, nodemailerError, phaseOf } from './errors';
import { type ConvertedMessage, type MailTiming, type NodemailerMessage, type RxSmtpSentMessageInfo, convertMessage, sentInfo } from './message';
import { type NodemailerSmtpOptions, type PlanInput, planTransport } from './options';

/**
 * Options of {@link rxSmtpTransport} when the transport connects by itself: rx-smtp's own (the
 * `server`, the account, any {@link SessionOptions}) or nodemailer's SMTP transport options
 * ({@link NodemailerSmtpOptions}: `host`, `port`, `secure`, `auth`, `tls`, `pool`, ...), which are
 * mapped onto rx-smtp's. An option that is neither, or both spellings of one, is `EINVAL`.
 *
 * @example
 * ```ts
 * const ours: RxSmtpTransportOptions = { server: 'smtp://mail.example.com:587', username: 'alice', password: 's3cret' };
 * const theirs: RxSmtpTransportOptions = { host: 'mail.example.com', port: 587, auth: { user: 'alice', pass: 's3cret' } };
 * ```
 */
export interface RxSmtpTransportOptions extends Omit<SessionOptions, 'tls'>, NodemailerSmtpOptions {
  /** Where to connect (rx-smtp's spelling; nodemailer's is `host` and `port`). */
  server?: ServerAddress;
  /** The account to log in as; no AUTH without it (nodemailer's spelling: `auth.user`). */
  username?: string;
  /** The account's password (nodemailer's spelling: `auth.pass`). */
  password?: string;
  /** Milliseconds without mail after which the connection is QUIT (0: at once). Default 1 000. */
  idleTimeout?: number;
  /** rx-smtp's TLS mode (`'starttls'`, `'implicit'`, ...), or, as in nodemailer, options for `tls.connect` (rx-smtp's `tlsOptions`). */
  tls?: TlsMode | TlsConnectionOptions;
}

/**
 * Called with the result of one message: an {@link RxSmtpTransportError} (nodemailer's fields, the
 * {@link "rx-smtp"!SmtpError} as its `cause`), or the info.
 *
 * @example
 * ```ts
 * const done: RxSmtpSendCallback = (err, info) => console.log(err?.code ?? info?.response);
 * ```
 */
export type RxSmtpSendCallback = (err: RxSmtpTransportError | null, info?: RxSmtpSentMessageInfo) => void;

/**
 * A burst of `sendMail` calls (one web request's mails) arrives within milliseconds; a second keeps
 * the connection for the next burst without holding a finished script open for long.
 */
const DEFAULT_IDLE_TIMEOUT_MS = 1_000;
/**
 * A mail whose content never left is sent again after its connection failed, once: a second failure
 * on a fresh connection says the server, not the connection, is the trouble.
 */
const MAX_ATTEMPTS = 2;

interface Job {
  converted: ConvertedMessage;
  callback: RxSmtpSendCallback;
  attempts: number;
}

/**
 * A nodemailer transport that sends through rx-smtp. Create it with {@link rxSmtpTransport}.
 *
 * nodemailer calls `send()` for each `sendMail()`, possibly many at once; the transport queues them
 * and hands every mail waiting at that moment to one `sendAll`, so a session pipelines them.
 *
 * @example
 * ```ts
 * const transport = rxSmtpTransport({ server: 'smtp://mail.example.com:587', username: 'alice', password: 's3cret' });
 * const transporter = nodemailer.createTransport(transport);
 * await transporter.sendMail({ from: 'alice@example.com', to: 'bob@example.com', text: 'Hi' });
 * await transport.close();
 * ```
 */
export class RxSmtpTransport extends EventEmitter {
  /** The transport's name, which nodemailer puts in its logs. */
  readonly name = 'rx-smtp';
  /** rx-smtp's version. */
  readonly version = packageVersion();

  private readonly queue: Job[] = [];
  private readonly busy$ = new BehaviorSubject(false);
  private readonly wake$ = new Subject<void>();
  private readonly loop: Subscription;
  private closed: Promise<void> | undefined;
  private readonly clock: () => number = Date.now;

  /**
   * Use {@link rxSmtpTransport}.
   *
   * @internal
   */
  constructor(private readonly dispatcher: Dispatcher) {
    super();
    // exhaustMap: a wake during a drain is not lost, because the drain looks at the queue again before it ends.
    this.loop = this.wake$.pipe(exhaustMap(() => this.drain$())).subscribe();
  }

  /** Called by nodemailer for each message; `callback` gets the info, or an {@link RxSmtpTransportError}. */
  send(message: NodemailerMessage, callback: RxSmtpSendCallback): void {
    if (this.closed !== undefined) {
      queueMicrotask(() => callback(transportError(new SmtpError('EPERM', 'the transport has been closed'), [])));
      return;
    }
    let converted: ConvertedMessage;
    try {
      converted = convertMessage(message, this.clock);
    } catch (err) {
      const error = err instanceof SmtpError ? err : new SmtpError('EINVAL', String(err), { cause: err });
      queueMicrotask(() => callback(transportError(error, [])));
      return;
    }
    this.queue.push({ converted, callback, attempts: 0 });
    this.wake$.next();
  }

  /**
   * Connects and logs in (the connection is then kept for the next mails; through a pool, a
   * connection of its own is opened and QUIT); with a sender of your own, there is nothing to
   * check and it succeeds at once.
   */
  verify(): Promise<true>;
  /** The same, with a callback. */
  verify(callback: (err: RxSmtpTransportError | null, success?: true) => void): void;
  verify(callback?: (err: RxSmtpTransportError | null, success?: true) => void): Promise<true> | void {
    const done = lastValueFrom(this.dispatcher.verify(), { defaultValue: undefined }).then(
      () => {
        if (!this.busy$.value && this.closed === undefined) this.dispatcher.idle();
        return true as const;
      },
      (err: unknown) => {
        throw transportError(err, []);
      },
    );
    if (callback === undefined) return done;
    done.then(
      (ok) => callback(null, ok),
      (err: RxSmtpTransportError) => callback(err),
    );
  }

  /** True when no message is waiting or being sent. */
  isIdle(): boolean {
    return this.closed === undefined && !this.busy$.value;
  }

  /**
   * Refuses new messages (`ECONNECTION`, the cause `EPERM`), sends those already given, then QUITs
   * the transport's own session or pool. A sender passed in is left open. Resolves when done; never rejects.
   */
  close(): Promise<void> {
    this.closed ??= firstValueFrom(this.busy$.pipe(filter((busy) => !busy), take(1)))
      .then(() => lastValueFrom(this.dispatcher.close(), { defaultValue: undefined }))
      .catch(() => undefined)
      .then(() => {
        this.loop.unsubscribe();
        this.emit('clear');
      });
    return this.closed;
  }

  /** Sends what waits, batch after batch, until the queue is empty. */
  private drain$(): Observable<never> {
    return defer(() => {
      const batch = this.queue.splice(0);
      if (batch.length === 0) {
        this.busy$.next(false);
        this.dispatcher.idle();
        if (this.closed === undefined) this.emit('idle');
        return EMPTY;
      }
      this.busy$.next(true);
      return this.sendBatch$(batch).pipe(concatWith(defer(() => this.drain$())));
    });
  }

  /** One `sendAll`; every job ends with exactly one callback, or goes back to the queue. */
  private sendBatch$(batch: Job[]): Observable<never> {
    // By position: the same Mail object may stand twice in a batch.
    const pending = new Map<number, Job>(batch.map((job, index) => [index, job]));
    const clock = new BatchClock(this.clock);
    const settle = (outcome: SendOutcome): void => {
      const job = pending.get(outcome.index);
      if (job === undefined) return;
      pending.delete(outcome.index);
      const timing = clock.settle(job.converted.openedAt());
      if (outcome.ok) report(job.callback, null, sentInfo(job.converted, outcome.result, timing, this.dispatcher.ehlo()));
      else report(job.callback, nodemailerError(outcome.error, phaseOf(outcome.error), job.converted.envelope.to, outcome.rejected));
    };
    return defer(() => {
      clock.start();
      return this.dispatcher.sendAll(batch.map((job) => job.converted.mail));
    }).pipe(
      tap(settle),
      ignoreElements(),
      catchError((err: unknown) => {
        this.failRest(pending, err);
        return EMPTY;
      }),
      tap({ complete: () => this.failRest(pending, new SmtpError('ESERVERSYNC', 'the sender completed without an outcome for this mail')) }),
    );
  }

  /**
   * The jobs of a failed batch without an outcome: those whose content never left go back to the
   * front of the queue (once); the rest, including any that may have been delivered, fail.
   */
  private failRest(pending: Map<number, Job>, err: unknown): void {
    const notSent = notSentOf(err);
    const retry: Job[] = [];
    for (const [index, job] of pending) {
      job.attempts++;
      if (notSent.has(index) && !job.converted.opened() && job.attempts < MAX_ATTEMPTS) retry.push(job);
      else report(job.callback, transportError(err, job.converted.envelope.to));
    }
    pending.clear();
    this.queue.unshift(...retry);
  }
}

// The two places the transport reads the session's outcome shapes, which may change with it.

/** The mail an outcome is for. */
/** The positions of the mails a failed batch never sent (safe to send again). */
function notSentOf(err: unknown): Set<number> {
  return new Set(err instanceof SendAllError ? err.notSent.map((ref) => ref.index) : []);
}

/**
 * When each mail of a batch began and ended, for nodemailer's `envelopeTime` and `messageTime`: a
 * session sends a batch's mails one after another, so a mail's transaction begins when the batch
 * does or when the mail before it ended, whichever is later.
 */
class BatchClock {
  private startedAt = 0;
  private readonly settled: number[] = [];

  constructor(private readonly now: () => number) {}

  start(): void {
    this.startedAt = this.now();
  }

  /** The timing of a mail whose final reply came now, whose content started at `contentAt`. */
  settle(contentAt: number | undefined): MailTiming {
    const settledAt = this.now();
    const before = this.settled.filter((t) => contentAt === undefined || t <= contentAt);
    this.settled.push(settledAt);
    return { startedAt: Math.max(this.startedAt, ...before), settledAt };
  }
}

/**
 * Creates a nodemailer transport that sends through rx-smtp. Give it connection options (rx-smtp's,
 * or nodemailer's own: see {@link NodemailerSmtpOptions}) and it keeps a session of its own
 * (connected when mail comes, QUIT when idle) or, with `pool: true`, an rx-smtp pool; or give it a
 * sender you own: a connected {@link "rx-smtp"!SmtpSession}, or a pool.
 *
 * @throws {@link "rx-smtp"!SmtpError} `EINVAL` for a missing server, an unknown option, a conflict or a bad value.
 * @example
 * ```ts
 * import nodemailer from 'nodemailer';
 * import { rxSmtpTransport } from 'rx-smtp/nodemailer';
 *
 * const transporter = nodemailer.createTransport(rxSmtpTransport({ host: 'mail.example.com', port: 587, auth: { user: 'alice', pass: 's3cret' } }));
 * const info = await transporter.sendMail({ from: 'alice@example.com', to: 'bob@example.com', subject: 'Hi', text: 'Hello' });
 * ```
 */
export function rxSmtpTransport(source: RxSmtpTransportOptions | MailSender): RxSmtpTransport {
  if (source === null || typeof source !== 'object') throw new SmtpError('EINVAL', 'rxSmtpTransport needs connection options or a sender');
  if ('send' in source && typeof source.send === 'function') return new RxSmtpTransport(senderDispatcher(source));
  const plan = planTransport(source as PlanInput, DEFAULT_IDLE_TIMEOUT_MS);
  const target = { server: plan.server, username: plan.username, password: plan.password, deadlines: plan.deadlines, tls: plan.session.tls };
  if (plan.pool !== undefined) {
    const pool = createPool({
      ...plan.session,
      ...plan.pool,
      server: plan.server,
      ...(plan.username !== undefined && { username: plan.username }),
      ...(plan.password !== undefined && { password: plan.password }),
      ...(plan.idleTimeoutMs > 0 && { idleTimeout: plan.idleTimeoutMs }),
    });
    const verify = () => verifyOnce$(plan.session, target);
    return new RxSmtpTransport(poolDispatcher(pool, verify));
  }
  const session = createSession(plan.session);
  return new RxSmtpTransport(sessionDispatcher(session, { ...target, idleTimeoutMs: plan.idleTimeoutMs }));
}

/** nodemailer's pool verifies with a connection of its own: connect, log in, QUIT. */
function verifyOnce$(options: SessionOptions, target: Parameters<typeof connectMapped$>[1]): Observable<never> {
  return defer(() => {
    const session = createSession(options);
    return concat(
      connectMapped$(session, target),
      session.quit().pipe(
        ignoreElements(),
        catchError(() => EMPTY),
      ),
    ).pipe(finalize(() => session.dispose()));
  });
}

/** Calls a nodemailer callback; what it throws surfaces as an uncaught exception, not inside the queue. */
function report(callback: RxSmtpSendCallback, err: RxSmtpTransportError | null, info?: RxSmtpSentMessageInfo): void {
  try {
    if (err === null) callback(null, info);
    else callback(err);
  } catch (thrown) {
    process.nextTick(() => {
      throw thrown;
    });
  }
}

/**
 * Any failure as nodemailer's error: already one (a connect), or an rx-smtp error (a session
 * failure's own cause) made into one. `recipients` are the mail's, for "all recipients refused".
 */
function transportError(err: unknown, recipients: readonly string[], phase: Phase = 'send'): RxSmtpTransportError {
  if (err instanceof RxSmtpTransportError) return err;
  const error = err instanceof SendAllError && err.cause instanceof SmtpError ? err.cause : err;
  const smtpError = error instanceof SmtpError ? error : new SmtpError('EIO', error instanceof Error ? error.message : String(error), { cause: error });
  return nodemailerError(smtpError, phase, recipients);
}

/** The package's version; this file sits two levels below package.json both in lib/ and in dist/. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
