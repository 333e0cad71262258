export { type FailureKind, classifyFailure } from './classify';
export type { PoolOptions } from './options';
export type { PoolOutcome } from './outcome';
export { type PoolState, type PoolTranscriptLine, type SmtpPool, createPool } from './pool';
export type { WorkerStatus } from './worker';
