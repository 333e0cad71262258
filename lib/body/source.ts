import { Readable } from 'node:stream';
import { type Observable, isObservable } from 'rxjs';
import { SmtpError } from '../errors';
import type { MailBody } from '../mail/mail';

/** A body either in memory or as a stream of chunks that is read once. */
export type BodySource = { kind: 'memory'; bytes: Buffer } | { kind: 'stream'; chunks: AsyncIterable<Uint8Array> };

/**
 * Classifies a {@link MailBody}: strings (UTF-8) and byte arrays stay in memory; async iterables,
 * Node streams and Observables are streamed with backpressure where the source offers it.
 *
 * @example
 * ```ts
 * bodySource('Subject: hi\r\n\r\nHello\r\n'); // { kind: 'memory', bytes: <Buffer ...> }
 * ```
 */
export function bodySource(body: MailBody): BodySource {
  if (typeof body === 'string') return { kind: 'memory', bytes: Buffer.from(body, 'utf8') };
  if (body instanceof Uint8Array) return { kind: 'memory', bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
  if (isObservable(body)) return { kind: 'stream', chunks: observableChunks(body as Observable<Uint8Array>) };
  if (body !== null && typeof body === 'object') {
    const iterable = Symbol.asyncIterator in body;
    if (iterable || typeof (body as NodeJS.ReadableStream).on === 'function') {
      const stream = body as NodeJS.ReadableStream & { destroy?: () => void };
      let started = false;
      // Wrapped when first read: wrapping starts an old-style stream flowing, which a mail still queued must not.
      const read = async function* (): AsyncGenerator<Uint8Array> {
        started = true;
        yield* bytesOf(iterable ? (body as AsyncIterable<Uint8Array | string>) : new Readable().wrap(stream));
      };
      // Released once being read (the send was cancelled): a stream is ours to end, as a `for await` that breaks would.
      const release = (): void => {
        if (started && typeof stream.destroy === 'function') stream.destroy();
      };
      return { kind: 'stream', chunks: releasable(read(), release) };
    }
  }
  throw new SmtpError('EINVAL', 'mail body must be a string, a Uint8Array, an AsyncIterable, a readable stream or an Observable');
}

/**
 * A Node stream with an encoding set (`fs.createReadStream(path, 'utf8')`) yields strings, which
 * its type allows: they go on the wire as UTF-8. Returning early closes the source.
 */
async function* bytesOf(chunks: AsyncIterable<Uint8Array | string>): AsyncIterable<Uint8Array> {
  for await (const chunk of chunks) yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}

/**
 * An async iterable whose `return()` takes effect at once, even while a `next()` is waiting for a
 * chunk that may never come: that `next()` ends as done, `release` frees the source (unsubscribe,
 * destroy), and the source's own `return()` follows in the background. A generator's `return()`
 * alone would wait behind the pending `next()`, leaving a silent source subscribed forever.
 */
function releasable(source: AsyncIterable<Uint8Array>, release: () => void): AsyncIterable<Uint8Array> {
  const inner = source[Symbol.asyncIterator]();
  const done: IteratorResult<Uint8Array> = { done: true, value: undefined };
  let released = false;
  // The waiting next()'s resolve, for return() to settle; one at a time, so nothing piles up per chunk.
  let waiting: ((result: IteratorResult<Uint8Array>) => void) | undefined;
  const iterator: AsyncIterator<Uint8Array> = {
    next: () => {
      if (released) return Promise.resolve(done);
      return new Promise((resolve, reject) => {
        waiting = resolve;
        inner.next().then(
          (result) => {
            waiting = undefined;
            resolve(result);
          },
          (err: unknown) => {
            waiting = undefined;
            reject(err);
          },
        );
      });
    },
    return: () => {
      if (!released) {
        released = true;
        waiting?.(done);
        waiting = undefined;
        release();
        void inner.return?.().catch(() => {});
      }
      return Promise.resolve(done);
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/**
 * Reads an Observable as an async iterable. An Observable has no backpressure, so values that
 * arrive faster than the socket takes them wait here; the source sets that pace.
 */
function observableChunks(source: Observable<Uint8Array>): AsyncIterable<Uint8Array> {
  let released = false;
  let wakeReader: (() => void) | undefined;
  return releasable(read(), () => {
    released = true;
    wakeReader?.();
  });

  async function* read(): AsyncGenerator<Uint8Array> {
    const buffered: Uint8Array[] = [];
    let done = false;
    let failure: { error: unknown } | undefined;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      wake?.();
      wake = undefined;
    };
    wakeReader = notify;
    const subscription = source.subscribe({
      next: (chunk) => {
        buffered.push(chunk);
        notify();
      },
      error: (error: unknown) => {
        failure = { error };
        notify();
      },
      complete: () => {
        done = true;
        notify();
      },
    });
    try {
      for (;;) {
        if (released) return;
        const chunk = buffered.shift();
        if (chunk !== undefined) yield chunk;
        else if (failure !== undefined) throw failure.error;
        else if (done) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      subscription.unsubscribe();
    }
  }
}
