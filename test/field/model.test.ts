import { expect } from 'chai';
import type { SMTPServerAddress } from 'smtp-server';
import { type SmtpServerFixture, startSmtpServer } from '../fixtures/smtp-server';
import { type Features, runModel } from './model-commands';

// Issue 10's model-based tests, short: a few random sequences per group (MODEL_RUNS, default 10)
// from a fixed seed (MODEL_SEED), against a session and a pool over the fault proxy in front of
// smtp-server, each run ended by the accounting check. The groups keep the core's known defects
// apart, so that a failure names its area. `npm run soak:field` runs many with random seeds.

const RUNS = Number(process.env.MODEL_RUNS) || 10;
const SEED = Number(process.env.MODEL_SEED) || 20_261_204;
/** MODEL_PATH (with MODEL_SEED) replays one failing run: fast-check prints both. */
const PATH = process.env.MODEL_PATH;

/** Bodies that end: in memory and one-shot streams. */
const PLAIN: Features = { bodies: ['string', 'buffer', 'readable', 'generator'], oddInputs: false, cancel: false, dispose: false };
const GROUPS: [string, Features][] = [
  ['strings, buffers and one-shot streams; send, sendAll, quit, reconnect, random faults', PLAIN],
  ['with unsubscribe and AbortSignal aborts under way', { ...PLAIN, cancel: true }],
  ['with bodies that fail midway or never end, big bodies, and dispose under way', { ...PLAIN, bodies: [...PLAIN.bodies, 'errors', 'never-generator', 'never-readable', 'big'], dispose: true }],
  ['with undefined in the input and the same Mail object given again', { ...PLAIN, oddInputs: true }],
];

/** smtp-server refuses reject@ (550), as every shared test server does. */
function onRcptTo(address: SMTPServerAddress, _session: unknown, callback: (err?: Error | null) => void): void {
  if (address.address.startsWith('reject@')) callback(Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 }));
  else callback();
}

for (const mode of ['session', 'pool'] as const) {
  describe(`field: model-based runs against a ${mode}`, function () {
    this.timeout(120_000);
    let server: SmtpServerFixture;
    before(async () => {
      server = await startSmtpServer({ onRcptTo });
    });
    after(() => server.close());

    for (const [what, features] of GROUPS) {
      it(`${what}: every mail accounted for, nothing hangs or is left running`, async () => {
        const fates = await runModel({ mode, features, server, seed: SEED, numRuns: RUNS, ...(PATH !== undefined && { path: PATH }) });
        // The runs are only worth something if mail really went through.
        expect(fates.delivered ?? 0, JSON.stringify(fates)).to.be.at.least(PATH === undefined ? RUNS : 1);
      });
    }
  });
}
