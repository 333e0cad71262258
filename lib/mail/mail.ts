import type { Observable } from 'rxjs';
import type { SmtpError } from '../errors';
import type { SmtpReply } from '../reply/reply';

/** What DSN (RFC 3461) the sender asks for; the server must advertise DSN. */
export interface DsnOptions {
  /** Return the full message or only its headers in a bounce. */
  ret?: 'FULL' | 'HDRS';
  /** An envelope identifier echoed in DSNs (xtext-encoded on the wire). */
  envid?: string;
  /** When to notify, per recipient. */
  notify?: ('SUCCESS' | 'FAILURE' | 'DELAY')[] | 'NEVER';
  /** Send each recipient's original address as ORCPT=rfc822;... */
  orcpt?: boolean;
}

/** The message content: in memory, or streamed from any of Node's and RxJS's sources. */
export type MailBody = string | Uint8Array | AsyncIterable<Uint8Array> | NodeJS.ReadableStream | Observable<Uint8Array>;

/**
 * One message to send: the envelope and the RFC 5322 content.
 *
 * @example
 * ```ts
 * const mail: Mail = { from: 'a@example.com', to: ['b@example.com'], body: 'Subject: hi\r\n\r\nHello\r\n' };
 * ```
 */
export interface Mail {
  /** The reverse-path; '' sends MAIL FROM:<>. */
  from: string;
  /** At least one recipient. */
  to: string | string[];
  /** The RFC 5322 message, headers and body, with any line endings (they are sent as CRLF). */
  body: MailBody;
  /** Declared octets, for SIZE= when the body's length is not known up front. */
  size?: number;
  /** Delivery status notifications to ask for (RFC 3461). */
  dsn?: DsnOptions;
  /**
   * The caller's own name for this mail (a database key, a queue job id): never sent, only carried
   * back in its outcome and in the lists of a {@link SendAllError}, so that a caller can find it
   * again without keeping the mail itself.
   */
  id?: string;
}

/**
 * What the server said to one message that was accepted (for at least one recipient).
 *
 * @example
 * ```ts
 * session.send(mail).subscribe((r: SendResult) => console.log(r.accepted, r.queueId));
 * ```
 */
export interface SendResult {
  /** Recipients the server accepted (under LMTP: accepted after the end of data as well). */
  accepted: string[];
  /** Recipients the server refused, each with its reply; the message went to the others. */
  rejected: {
    /** The address as given in the mail. */
    recipient: string;
    /** The server's refusal (4xx or 5xx). */
    reply: SmtpReply;
  }[];
  /** The final reply to the end of data (under LMTP, the last recipient's). */
  reply: SmtpReply;
  /** From common "queued as X" / "id=X" texts, when present. */
  queueId?: string;
  /** Octets of message content sent (CRLF-normalised, before dot-stuffing). */
  bytes: number;
}

/**
 * A mail and where it stood in the input of the call that sent it: what outcomes and the lists of
 * a {@link SendAllError} point at. Positions tell apart the same Mail object given twice.
 *
 * @example
 * ```ts
 * const retry: Mail[] = error.notSent.map((ref: MailRef) => ref.mail);
 * ```
 */
export interface MailRef {
  /** The mail's position in the call's input, from 0. */
  index: number;
  /** The mail as given. */
  mail: Mail;
}

/**
 * The fate of one message of a `sendAll`: the mail and its position are in the same place whether
 * it was delivered or not.
 *
 * @example
 * ```ts
 * session.sendAll(mails).subscribe((o: SendOutcome) => console.log(o.index, o.ok ? o.result.queueId : o.error.code));
 * ```
 */
export type SendOutcome = MailRef &
  (
    | {
        /** The server accepted the message. */
        ok: true;
        /** What the server said to it. */
        result: SendResult;
      }
    | {
        /** The message was not delivered. */
        ok: false;
        /** Why: the server's refusal, or what stopped the message before it was sent. */
        error: SmtpError;
        /**
         * The recipients the server refused, each with its own reply, when the mail failed because
         * none was accepted (or its sender was refused after some were); absent otherwise.
         */
        rejected?: SendResult['rejected'];
      }
  );
