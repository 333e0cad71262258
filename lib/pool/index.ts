export { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff';
export { type FailureKind, classifyFailure } from './classify';
export type { PoolTranscriptLine } from './core';
export type { PoolOptions } from './options';
export type { PoolOutcome } from './outcome';
export { createPool } from './pool';
export type { PoolState, SmtpPool } from './smtp-pool';
export type { WorkerStatus } from './worker';
