import { type Observable, lastValueFrom, toArray } from 'rxjs';
import { SendAllError } from '../../lib/send/send-all-error';
import type { Mail, SendOutcome } from '../../lib/mail/mail';
import type { SessionOptions } from '../../lib/options';
import { type SmtpSession, createSession } from '../../lib/session';

/**
 * A session connected (without TLS) to a test server on 127.0.0.1; the caller disposes it.
 *
 * @example
 * ```ts
 * const session = await connectTo(server.port, { lmtp: true });
 * ```
 */
export async function connectTo(port: number, options: SessionOptions = {}): Promise<SmtpSession> {
  const session = createSession({ tls: 'none', ...options });
  await lastValueFrom(session.connect({ host: '127.0.0.1', port }));
  return session;
}

export { errorOf } from '../fixtures/observe';

/** Every outcome of a `sendAll` that completes. */
export function outcomesOf(observable: Observable<SendOutcome>): Promise<SendOutcome[]> {
  return lastValueFrom(observable.pipe(toArray()));
}

/** Mail number `i` of a test: its own subject and body, so the server side can tell them apart. */
export function numbered(i: number, overrides: Partial<Mail> = {}): Mail {
  return { from: 'sender@example.test', to: `rcpt${i}@example.test`, body: `Subject: ${i}\r\n\r\nbody ${i}\r\n`, ...overrides };
}

/** The failed outcome's error code, or 'ok'. */
export function codeOf(outcome: SendOutcome): string {
  return outcome.ok ? 'ok' : outcome.error.code;
}

/** Runs a `sendAll` to its error, keeping the outcomes emitted before it; fails the test if it completes. */
export function outcomesUntilError(observable: Observable<SendOutcome>): Promise<{ outcomes: SendOutcome[]; error: SendAllError }> {
  const outcomes: SendOutcome[] = [];
  return new Promise((resolve, reject) => {
    observable.subscribe({
      next: (outcome) => outcomes.push(outcome),
      error: (error: unknown) => {
        if (error instanceof SendAllError) resolve({ outcomes, error });
        else reject(error);
      },
      complete: () => reject(new Error('expected the sendAll to fail, but it completed')),
    });
  });
}
