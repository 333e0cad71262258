import { expect } from 'chai';
import type { ExampleRun } from './run-example';

/**
 * An example ended by itself with exit 0. It runs with `--unhandled-rejections=strict`, and RxJS
 * rethrows an error no subscriber handles on a later tick, so either kind of unhandled error would
 * have ended it with exit 1 and a trace.
 *
 * @example
 * ```ts
 * expectClean(await runExample(code));
 * ```
 */
export function expectClean(run: ExampleRun): void {
  expect({ code: run.code, signal: run.signal }, `${run.stdout}\n${run.stderr}`).to.deep.equal({ code: 0, signal: null });
  expect(run.stderr).to.not.match(/unhandled|uncaught/i);
}
