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
    if (Symbol.asyncIterator in body) return { kind: 'stream', chunks: bytesOf(body as AsyncIterable<Uint8Array | string>) };
    if (typeof (body as NodeJS.ReadableStream).on === 'function') {
      return { kind: 'stream', chunks: bytesOf(new Readable().wrap(body as NodeJS.ReadableStream)) };
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
 * Reads an Observable as an async iterable. An Observable has no backpressure, so values that
 * arrive faster than the socket takes them wait here; the source sets that pace.
 */
async function* observableChunks(source: Observable<Uint8Array>): AsyncIterable<Uint8Array> {
  const buffered: Uint8Array[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
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
