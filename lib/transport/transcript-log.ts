import type { Subject } from 'rxjs';
import { formatReply, type SmtpReply } from '../reply/reply';
import { sanitize } from '../reply/sanitize';
import { REDACTED, type TranscriptLine } from './transcript';

/**
 * Puts a command line (already redacted) or a server reply on the transcript, as lines: a reply's
 * text sanitised, an AUTH challenge's payload replaced by `[redacted]`. Nothing is formatted while
 * nobody reads the transcript: that would cost more than parsing the reply.
 *
 * @example
 * ```ts
 * logTranscript(transcript$, 'server', { code: 250, lines: ['a', 'b'] }, false); // '250-a', '250 b'
 * ```
 */
export function logTranscript(transcript$: Subject<TranscriptLine>, direction: 'client' | 'server', what: string | SmtpReply, redact: boolean): void {
  if (!transcript$.observed) return;
  const at = Date.now();
  if (typeof what === 'string') {
    transcript$.next({ direction, line: what, at });
    return;
  }
  // Only a challenge carries a payload; the final 235/535 text is the server's own words.
  const lines = redact && what.code === 334 ? [`${what.code} ${REDACTED}`] : formatReply(what);
  for (const line of lines) transcript$.next({ direction, line: sanitize(line), at });
}
