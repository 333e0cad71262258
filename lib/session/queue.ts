import { EMPTY, Observable, Subject, type Subscription, catchError, finalize, tap, throwError } from 'rxjs';
import { type SmtpError, isInSync } from '../errors';
import type { SmtpReply } from '../reply/reply';
import type { TaskSource } from '../send/context';
import type { CallLedger } from '../send/ledger';
import type { MailTask } from '../send/task';

/** A call waiting its turn on a session: a `sendAll`'s mails, or a command (RSET, NOOP, QUIT). */
export type QueueEntry =
  | { readonly kind: 'mails'; readonly ledger: CallLedger }
  | { readonly kind: 'command'; readonly run$: Observable<unknown>; readonly to: { error(err: unknown): void } };

/**
 * The calls made on one session, in the order they were made. Consecutive `sendAll` calls are read
 * as one stream of mails (a second call's first envelope may leave behind the first call's last end
 * of data: pipelining across calls); a command waits until every call before it has ended.
 *
 * @example
 * ```ts
 * queue.push({ kind: 'mails', ledger });
 * const task = queue.take(); // the next mail of the calls at the head, 'wait' or 'done'
 * ```
 */
export class SessionQueue implements TaskSource {
  /** Told of every change first (the session works through the queue from it). */
  onChange: (() => void) | undefined;
  private entries: QueueEntry[] = [];
  /** Mails given back to be sent again, taken before anything else. */
  private again: MailTask[] = [];
  /**
   * The calls with mails, and the watch on each one's changes; made, like {@link changed$}'s
   * subject, with the first that needs it: an idle session (one of thousands) holds neither.
   */
  private watching: Map<QueueEntry, Subscription> | undefined;
  private changes: Subject<void> | undefined;

  /** Emits at every change of the queue or of the mails of its calls. */
  get changed$(): Observable<void> {
    return (this.changes ??= new Subject<void>());
  }

  /** The oldest call still waiting or running, if any. */
  get head(): QueueEntry | undefined {
    return this.entries[0];
  }

  get length(): number {
    return this.entries.length;
  }

  /** Whether a call with mails is waiting or running. */
  get hasMails(): boolean {
    return this.entries.some((entry) => entry.kind === 'mails');
  }

  push(entry: QueueEntry): void {
    this.entries.push(entry);
    if (entry.kind === 'mails') (this.watching ??= new Map()).set(entry, entry.ledger.changed$.subscribe(() => this.changes?.next()));
    this.changed();
  }

  /** Takes a call out of the queue (it ended, or its caller left before its turn). */
  remove(entry: QueueEntry): void {
    const at = this.entries.indexOf(entry);
    if (at < 0) return;
    this.entries.splice(at, 1);
    this.watching?.get(entry)?.unsubscribe();
    this.watching?.delete(entry);
    this.changed();
  }

  private changed(): void {
    this.onChange?.();
    this.changes?.next();
  }

  take(): MailTask | 'wait' | 'done' {
    const again = this.again.shift();
    if (again !== undefined) return again;
    for (const entry of this.entries) {
      if (entry.kind !== 'mails') return 'done';
      if (entry.ledger.drained) continue;
      const next = entry.ledger.take();
      if (next !== 'done') return next;
    }
    return 'done';
  }

  putBack(task: MailTask): void {
    this.again.unshift(task);
  }

  /** Ends every call with `error`: the session failed or was disposed. */
  failAll(error: SmtpError): void {
    this.again = [];
    for (const entry of [...this.entries]) {
      this.remove(entry);
      if (entry.kind === 'mails') entry.ledger.end(error);
      else entry.to.error(error);
    }
  }
}

/**
 * A command queued behind the calls made before it, when subscribed; its replies go to the caller.
 * An error that leaves the two sides out of step (or a 421) also errors the queue's work (the
 * session ends); any other is the caller's alone.
 *
 * @example
 * ```ts
 * queuedCommand(queue, defer(() => conn.request({ line: 'NOOP' }))).subscribe(console.log);
 * ```
 */
export function queuedCommand(queue: SessionQueue, run$: Observable<SmtpReply>): Observable<SmtpReply> {
  return new Observable<SmtpReply>((to) => {
    const entry: QueueEntry = {
      kind: 'command',
      to,
      run$: run$.pipe(
        tap(to),
        catchError((err: unknown) => (endsSession(err) ? throwError(() => err) : EMPTY)),
        finalize(() => queue.remove(entry)),
      ),
    };
    queue.push(entry);
    return () => queue.remove(entry);
  });
}

/**
 * A command's error that leaves the two sides out of step, or a 421: the session cannot go on.
 *
 * @example
 * ```ts
 * if (endsSession(err)) session.close(err);
 * ```
 */
export function endsSession(err: unknown): boolean {
  return !isInSync(err) || (err as SmtpError).reply?.code === 421;
}
