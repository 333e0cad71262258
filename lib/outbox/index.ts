/**
 * A durable outbox on BullMQ and Redis: mails added by any process, sent by workers in any
 * number of processes through rx-smtp pools, with no mail sent twice or lost when a worker is
 * killed. Import it from `rx-smtp/outbox`; BullMQ and ioredis are peer dependencies of this entry
 * point only.
 *
 * @example
 * ```ts
 * import { createOutbox } from 'rx-smtp/outbox';
 *
 * const outbox = createOutbox({ connection: { host: '127.0.0.1', port: 6379 }, name: 'mail' });
 * await outbox.add({ from: 'a@example.com', to: 'b@example.com', body: 'Subject: hi\r\n\r\nHello\r\n' }, { id: 'welcome-42' });
 * outbox.work({ server: 'smtp://mail.example.com:587', username: 'alice', password }).subscribe((o) => console.log(o.id, o.fate));
 * ```
 * @module rx-smtp/outbox
 * @packageDocumentation
 */
export type { RetryOptions } from './backoff';
export type { Delivery, Refusal } from './fate';
export { DEFAULT_MAX_BODY_BYTES } from './job-data';
export type { OutboxOptions } from './options';
export type { OutboxOutcome, OutcomeBase } from './outcome';
export { type Outbox, type OutboxCounts, type UncertainMail, createOutbox } from './outbox';
export type { WorkOptions } from './work';
