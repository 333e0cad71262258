import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BehaviorSubject,
  EMPTY,
  type Observable,
  Subject,
  type Subscription,
  catchError,
  concatWith,
  defer,
  exhaustMap,
  filter,
  firstValueFrom,
  ignoreElements,
  lastValueFrom,
  take,
  tap,
} from 'rxjs';
import type { ServerAddress } from '../address';
import { SmtpError } from '../errors';
import { SendAllError } from '../send/send-all-error';
import type { SendOutcome } from '../mail/mail';
import type { SessionOptions } from '../options';
import { createSession } from '../session';
import { type Dispatcher, type MailSender, senderDispatcher, sessionDispatcher } from './dispatch';
import { type ConvertedMessage, type NodemailerMessage, type RxSmtpSentMessageInfo, convertMessage, sentInfo } from './message';

/**
 * Options of {@link rxSmtpTransport} when the transport connects by itself: the server, the
 * account, and any {@link SessionOptions}.
 *
 * @example
 * ```ts
 * const options: RxSmtpTransportOptions = { server: 'smtp://mail.example.com:587', username: 'alice', password: 's3cret' };
 * ```
 */
export interface RxSmtpTransportOptions extends SessionOptions {
  /** Where to connect. */
  server: ServerAddress;
  /** The account to log in as; no AUTH without it. */
  username?: string;
  /** The account's password. */
  password?: string;
  /** Milliseconds without mail after which the connection is QUIT (0: at once). Default 1 000. */
  idleTimeout?: number;
}

/**
 * Called with the result of one message: an {@link SmtpError} (with its stable `code`), or the info.
 *
 * @example
 * ```ts
 * const done: RxSmtpSendCallback = (err, info) => console.log(err?.code ?? info?.response);
 * ```
 */
export type RxSmtpSendCallback = (err: SmtpError | null, info?: RxSmtpSentMessageInfo) => void;

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

  /** Called by nodemailer for each message; `callback` gets the info, or an {@link SmtpError}. */
  send(message: NodemailerMessage, callback: RxSmtpSendCallback): void {
    if (this.closed !== undefined) {
      queueMicrotask(() => callback(new SmtpError('EPERM', 'the transport has been closed')));
      return;
    }
    let converted: ConvertedMessage;
    try {
      converted = convertMessage(message);
    } catch (err) {
      const error = err instanceof SmtpError ? err : new SmtpError('EINVAL', String(err), { cause: err });
      queueMicrotask(() => callback(error));
      return;
    }
    this.queue.push({ converted, callback, attempts: 0 });
    this.wake$.next();
  }

  /**
   * Connects and logs in (the connection is then kept for the next mails); with a sender of your
   * own, there is nothing to check and it succeeds at once.
   */
  verify(): Promise<true>;
  /** The same, with a callback. */
  verify(callback: (err: SmtpError | null, success?: true) => void): void;
  verify(callback?: (err: SmtpError | null, success?: true) => void): Promise<true> | void {
    const done = lastValueFrom(this.dispatcher.verify(), { defaultValue: undefined }).then(() => {
      if (!this.busy$.value && this.closed === undefined) this.dispatcher.idle();
      return true as const;
    });
    if (callback === undefined) return done;
    done.then(
      (ok) => callback(null, ok),
      (err: SmtpError) => callback(err),
    );
  }

  /** True when no message is waiting or being sent. */
  isIdle(): boolean {
    return this.closed === undefined && !this.busy$.value;
  }

  /**
   * Refuses new messages (`EPERM`), sends those already given, then QUITs the transport's own
   * session. A sender passed in is left open. Resolves when done; never rejects.
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
    const settle = (outcome: SendOutcome): void => {
      const job = pending.get(outcome.index);
      if (job === undefined) return;
      pending.delete(outcome.index);
      if (outcome.ok) report(job.callback, null, sentInfo(job.converted, outcome.result));
      else report(job.callback, outcome.error);
    };
    return defer(() => this.dispatcher.sendAll(batch.map((job) => job.converted.mail))).pipe(
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
    const error = toSmtpError(err);
    const cause = err instanceof SendAllError && err.cause instanceof SmtpError ? err.cause : error;
    const notSent = new Set(err instanceof SendAllError ? err.notSent.map((ref) => ref.index) : []);
    const retry: Job[] = [];
    for (const [index, job] of pending) {
      job.attempts++;
      if (notSent.has(index) && !job.converted.opened() && job.attempts < MAX_ATTEMPTS) retry.push(job);
      else report(job.callback, cause);
    }
    pending.clear();
    this.queue.unshift(...retry);
  }
}

/**
 * Creates a nodemailer transport that sends through rx-smtp. Give it connection options and it
 * keeps a session of its own (connected when mail comes, QUIT when idle); or give it a sender you
 * own: a connected {@link "rx-smtp"!SmtpSession}, or a pool.
 *
 * @throws {@link "rx-smtp"!SmtpError} `EINVAL` for a missing server, an unknown option or a bad value.
 * @example
 * ```ts
 * import nodemailer from 'nodemailer';
 * import { rxSmtpTransport } from 'rx-smtp/nodemailer';
 *
 * const transporter = nodemailer.createTransport(rxSmtpTransport({ server: 'smtp://mail.example.com:587', username: 'alice', password: 's3cret' }));
 * const info = await transporter.sendMail({ from: 'alice@example.com', to: 'bob@example.com', subject: 'Hi', text: 'Hello' });
 * ```
 */
export function rxSmtpTransport(source: RxSmtpTransportOptions | MailSender): RxSmtpTransport {
  if (source === null || typeof source !== 'object') throw new SmtpError('EINVAL', 'rxSmtpTransport needs connection options or a sender');
  if ('send' in source && typeof source.send === 'function') return new RxSmtpTransport(senderDispatcher(source));
  const { server, username, password, idleTimeout = DEFAULT_IDLE_TIMEOUT_MS, ...sessionOptions } = source as RxSmtpTransportOptions;
  if (server === undefined) throw new SmtpError('EINVAL', 'rxSmtpTransport options need a server');
  if (!Number.isInteger(idleTimeout) || idleTimeout < 0) throw new SmtpError('EINVAL', 'idleTimeout must be a non-negative integer (ms)');
  const session = createSession(sessionOptions);
  return new RxSmtpTransport(sessionDispatcher(session, { server, username, password, idleTimeoutMs: idleTimeout }));
}

/** Calls a nodemailer callback; what it throws surfaces as an uncaught exception, not inside the queue. */
function report(callback: RxSmtpSendCallback, err: SmtpError | null, info?: RxSmtpSentMessageInfo): void {
  try {
    if (err === null) callback(null, info);
    else callback(err);
  } catch (thrown) {
    process.nextTick(() => {
      throw thrown;
    });
  }
}

function toSmtpError(err: unknown): SmtpError {
  return err instanceof SmtpError ? err : new SmtpError('EIO', err instanceof Error ? err.message : String(err), { cause: err });
}

/** The package's version; this file sits two levels below package.json both in lib/ and in dist/. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
