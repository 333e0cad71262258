export { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff';
export { type FailureKind, classifyFailure } from './classify';
export type { PoolTranscriptLine, WorkerStatus } from './core';
export { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_MESSAGES_PER_CONNECTION, type PoolOptions } from './options';
export type { PoolOutcome } from './outcome';
export { createPool } from './pool';
export type { PoolState, SmtpPool } from './smtp-pool';
