/**
 * A nodemailer transport: nodemailer builds the message, rx-smtp sends it, pipelining the
 * messages of concurrent `sendMail` calls. Import it from `rx-smtp/nodemailer`; nodemailer is a
 * peer dependency of this entry point only.
 *
 * @example
 * ```ts
 * import nodemailer from 'nodemailer';
 * import { rxSmtpTransport } from 'rx-smtp/nodemailer';
 *
 * const transporter = nodemailer.createTransport(rxSmtpTransport({ server: 'smtp://mail.example.com:587', username: 'alice', password: 's3cret' }));
 * await transporter.sendMail({ from: 'alice@example.com', to: 'bob@example.com', subject: 'Hi', text: 'Hello' });
 * ```
 * @module rx-smtp/nodemailer
 * @packageDocumentation
 */
export type { MailSender } from './dispatch';
export { type NodemailerErrorCode, type NodemailerTimeoutType, RxSmtpTransportError, type RxSmtpTransportErrorFields } from './errors';
export type { NodemailerDsn, NodemailerEnvelope, NodemailerMessage, RxSmtpSentMessageInfo } from './message';
export type { NodemailerAuth, NodemailerSmtpOptions } from './options';
export { RxSmtpTransport, type RxSmtpSendCallback, type RxSmtpTransportOptions, rxSmtpTransport } from './transport';
