import { type Observable, Subject, defer, filter, map, of, take } from 'rxjs';

/**
 * The default CHUNKING window: how many mails may be written whole (MAIL, RCPT, `BDAT n LAST` and
 * the content) before the oldest one's replies are read. Each one in flight is a mail that becomes
 * uncertain if the connection dies, and its content is held until answered. 64 mails cover a
 * 100 ms round trip at 640 messages a second, or 10 ms at 6,400: more than one core sends.
 */
export const DEFAULT_WINDOW_MAILS = 64;

/**
 * The default byte bound of the CHUNKING window, over the content of the mails in flight: large
 * mails fill it before the mail bound does, which keeps the memory they hold small.
 */
export const DEFAULT_WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * Mails written whole under CHUNKING and PIPELINING whose replies have not come: at most
 * `maxMails` of them and `maxBytes` of their content, except that one mail always fits in an empty
 * window whatever its size.
 *
 * @example
 * ```ts
 * const window = new SendWindow(64, 4 * 1024 * 1024);
 * window.room$(bytes).subscribe(() => { window.add(bytes); writeWhole(); });
 * ```
 */
export class SendWindow {
  private mails = 0;
  private bytes = 0;
  private readonly freed$ = new Subject<void>();

  constructor(
    readonly maxMails: number,
    readonly maxBytes: number,
  ) {}

  /** Mails and content bytes in flight now. */
  get inFlight(): { mails: number; bytes: number } {
    return { mails: this.mails, bytes: this.bytes };
  }

  hasRoom(bytes: number): boolean {
    return this.mails === 0 || (this.mails < this.maxMails && this.bytes + bytes <= this.maxBytes);
  }

  /** Emits once (at once if there is room now) when a mail of `bytes` fits, then completes. */
  room$(bytes: number): Observable<void> {
    return defer(() =>
      this.hasRoom(bytes)
        ? of(undefined)
        : this.freed$.pipe(
            filter(() => this.hasRoom(bytes)),
            take(1),
            map(() => undefined),
          ),
    );
  }

  add(bytes: number): void {
    this.mails++;
    this.bytes += bytes;
  }

  remove(bytes: number): void {
    this.mails--;
    this.bytes -= bytes;
    this.freed$.next();
  }
}
