import type { Observer } from 'rxjs';
import type { SmtpError } from '../errors';
import type { Answer } from './match-replies';

/**
 * What hears a connection's reply stream: each reply with the command it answers, the stream's
 * error (a fatal one), and its end (the socket closed, or the plain text ended at STARTTLS's 220).
 *
 * @example
 * ```ts
 * replies$.pipe(matchReplies(waiting, waiting)).subscribe(new Reading(connection));
 * ```
 */
export interface ReplyReader {
  answered(answer: Answer): void;
  fail(error: SmtpError): void;
  readEnded(): void;
}

/**
 * The observer of a connection's reply stream: a class rather than three closures, since a
 * connection holds it for as long as it lives, thousands of them idle at once.
 *
 * @example
 * ```ts
 * this.reading = replies$.pipe(matchReplies(this.waiting, this.waiting)).subscribe(new Reading(this));
 * ```
 */
export class Reading implements Observer<Answer> {
  constructor(private readonly reader: ReplyReader) {}

  next(answer: Answer): void {
    this.reader.answered(answer);
  }

  error(err: SmtpError): void {
    this.reader.fail(err);
  }

  complete(): void {
    this.reader.readEnded();
  }
}
