export { createSession } from './session';
export type { SmtpSession } from './smtp-session';
