import { replyError } from '../errors';
import type { SmtpReply } from '../reply/reply';

/**
 * Returns the reply when its code is one the command takes; otherwise throws: 4xx → `ESERVERTEMP`,
 * 5xx → `ESERVERPERM`, any other code (a 3xx to EHLO, a 221 to AUTH ...) → `ESERVERSYNC`.
 */
export function expectReply(reply: SmtpReply, accepted: readonly number[], command: string | undefined): SmtpReply {
  if (accepted.includes(reply.code)) return reply;
  throw replyError(reply, command);
}
