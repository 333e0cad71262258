import {
  EMPTY,
  type Observable,
  ReplaySubject,
  catchError,
  concatMap,
  concatWith,
  defer,
  expand,
  finalize,
  ignoreElements,
  of,
  race,
  takeWhile,
  throwError,
} from 'rxjs';
import { BodyEncoder } from '../body/encoder';
import { SmtpError } from '../errors';
import type { SmtpReply } from '../reply/reply';
import type { TransferContext } from './context';
import type { MailTask } from './task';

/** What a streamed body left to write with the end of data. */
export interface WrittenBody {
  /** Octets of content (CRLF-normalised, before dot-stuffing). */
  bytes: number;
  /** The content not written yet: it goes out with the end of data (`BDAT n LAST` carries it). */
  tail: Buffer;
  /** BDAT only: the replies to the chunks written, and how many. */
  chunks?: { replies$: Observable<SmtpReply>; count: number };
}

/**
 * Why a body stopped being written without the connection failing: the body's own source failed
 * (`error`, an `EIO`), or the caller gave up on the mail (`cancelled`).
 *
 * @example
 * ```ts
 * catchError((err) => (err instanceof BodyStopped ? handle(err) : throwError(() => err)));
 * ```
 */
export class BodyStopped {
  constructor(
    readonly why: 'failed' | 'cancelled',
    readonly error: SmtpError,
  ) {}
}

/**
 * Reads a streamed body one chunk at a time and writes it: raw and dot-stuffed inside DATA, or as
 * `BDAT n` chunks, the last one kept back to carry LAST. The next chunk is read only once the socket
 * can take more (backpressure), so any body streams in constant memory. The connection ending, the
 * caller cancelling and the body failing all stop it at once, a chunk that never comes included, and
 * the body is released (a Node stream destroyed, an iterator returned). Emits once, at the end.
 *
 * @example
 * ```ts
 * writeBody$(ctx, task, chunks, false).subscribe(({ tail, bytes }) => writeEndOfData(tail));
 * ```
 */
export function writeBody$(ctx: TransferContext, task: MailTask, chunks: AsyncIterable<Uint8Array>, bdat: boolean): Observable<WrittenBody> {
  return defer(() => {
    const { conn } = ctx;
    const encoder = new BodyEncoder(!bdat);
    const iterator = chunks[Symbol.asyncIterator]();
    let finished = false;
    const replies$ = new ReplaySubject<SmtpReply>();
    let count = 0;
    let held: Buffer[] = [];
    const read$ = defer(() => iterator.next()).pipe(
      catchError((err: unknown) => {
        const error = new SmtpError('EIO', `the message body stream failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
        return throwError(() => new BodyStopped('failed', error));
      }),
    );
    const write = (chunk: Uint8Array): Observable<void> => {
      task.bodyConsumed = true;
      const pieces = encoder.push(chunk);
      if (!bdat) {
        for (const piece of pieces) conn.writeRaw(piece);
      } else {
        if (held.length > 0) {
          const data = Buffer.concat(held);
          count++;
          conn.send([{ line: `BDAT ${data.length}` }, { raw: data }]).subscribe(replies$);
        }
        held = pieces;
      }
      return conn.drained();
    };
    const cancelled$ = task.ledger.cancelled$.pipe(
      concatMap(() => throwError(() => new BodyStopped('cancelled', new SmtpError('ECANCELED', 'the mail was cancelled while its body was being written')))),
    );
    const ended$ = conn.ended$.pipe(concatMap(() => throwError(() => conn.closedError())));
    const body$ = read$.pipe(
      expand((step) => (step.done === true ? EMPTY : write(step.value).pipe(concatMap(() => read$)))),
      takeWhile((step) => step.done !== true),
      ignoreElements(),
      concatWith(
        defer(() => {
          finished = true;
          const tail = Buffer.concat([...held, ...encoder.end()]);
          return of<WrittenBody>({ bytes: encoder.contentBytes, tail, ...(bdat && { chunks: { replies$, count } }) });
        }),
      ),
    );
    // The first to speak wins: the body's end, the caller's cancel, or the connection's end.
    return race(body$, cancelled$, ended$).pipe(
      finalize(() => {
        if (!finished) void Promise.resolve(iterator.return?.()).catch(() => undefined);
      }),
    );
  });
}
