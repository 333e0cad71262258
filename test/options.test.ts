import { expect } from 'chai';
import { SmtpError } from '../lib/errors';
import { DEFAULT_TIMEOUT_MS, type SessionOptions, resolveOptions } from '../lib/options';
import { createSession } from '../lib/session';

/** The EINVAL that createSession throws for `options`; fails the test when it does not throw. */
function refusal(options: unknown): SmtpError {
  try {
    createSession(options as SessionOptions).dispose();
  } catch (err) {
    expect(err, JSON.stringify(options)).to.be.instanceOf(SmtpError);
    expect((err as SmtpError).code, JSON.stringify(options)).to.equal('EINVAL');
    return err as SmtpError;
  }
  throw new Error(`expected EINVAL for ${JSON.stringify(options)}`);
}

const MAX_TIMER_MS = 2 ** 31 - 1;

describe('options: createSession validation', () => {
  it('fills in the defaults: 60 s timeout, limits 4096/256/65536, chunking on, lmtp and insecure auth off', () => {
    const resolved = resolveOptions();
    expect(DEFAULT_TIMEOUT_MS).to.equal(60_000);
    expect(resolved).to.deep.include({ timeout: 60_000, clientName: undefined, allowInsecureAuth: false, chunking: true, lmtp: false, keepAlive: undefined });
    expect(resolved.limits).to.deep.equal({ maxLineLength: 4096, maxLines: 256, maxReplyBytes: 65_536 });
    expect(resolveOptions({})).to.deep.equal(resolved);
  });

  it('keeps every valid value, treats an undefined value as absent and upper-cases mechanism names', () => {
    const resolved = resolveOptions({
      timeout: 1,
      clientName: 'client.example.com',
      authMechanisms: ['plain', 'Login'],
      tls: 'starttls-required',
      allowInsecureAuth: true,
      chunking: false,
      lmtp: true,
      keepAlive: MAX_TIMER_MS,
      maxLineLength: 512,
      maxLines: 3,
      maxReplyBytes: 1000,
      tlsOptions: { minVersion: 'TLSv1.3' },
    });
    expect(resolved).to.deep.include({ timeout: 1, clientName: 'client.example.com', tls: 'starttls-required', lmtp: true, keepAlive: MAX_TIMER_MS });
    expect(resolved.authMechanisms).to.deep.equal(['PLAIN', 'LOGIN']);
    expect(resolved.limits).to.deep.equal({ maxLineLength: 512, maxLines: 3, maxReplyBytes: 1000 });
    expect(resolveOptions({ timeout: undefined }).timeout).to.equal(60_000);
  });

  describe('EINVAL: an unknown key', () => {
    for (const key of ['timeOut', 'host', 'port', 'secure', 'auth', '__proto__x']) {
      it(`refuses ${JSON.stringify(key)}, naming it`, () => {
        expect(refusal({ [key]: 1 }).message).to.equal(`unknown option ${JSON.stringify(key)}`);
      });
    }
  });

  describe('EINVAL: options that are not an object', () => {
    for (const options of [null, 'fast', 5, true]) {
      it(`refuses ${JSON.stringify(options)}`, () => {
        expect(refusal(options).message).to.equal('options must be an object');
      });
    }
  });

  describe('EINVAL: a bad value', () => {
    const cases: [keyof SessionOptions, unknown][] = [
      ['timeout', 0],
      ['timeout', -1],
      ['timeout', 1.5],
      ['timeout', '1000'],
      ['timeout', Number.NaN],
      ['timeout', Number.POSITIVE_INFINITY],
      ['timeout', MAX_TIMER_MS + 1],
      ['timeout', null],
      ['keepAlive', 0],
      ['keepAlive', 2.5],
      ['maxLineLength', 0],
      ['maxLineLength', 2 ** 20 + 1],
      ['maxLines', 0],
      ['maxLines', 2 ** 16 + 1],
      ['maxReplyBytes', 0],
      ['maxReplyBytes', 2 ** 24 + 1],
      ['tls', 'yes'],
      ['tls', true],
      ['tlsOptions', null],
      ['tlsOptions', 'strict'],
      ['allowInsecureAuth', 'true'],
      ['chunking', 1],
      ['lmtp', 'no'],
      ['authMechanisms', []],
      ['authMechanisms', 'PLAIN'],
      ['authMechanisms', ['PL AIN']],
      ['authMechanisms', ['PLAIN', 5]],
      ['clientName', ''],
    ];
    for (const [key, value] of cases) {
      it(`refuses ${key}: ${typeof value === 'number' ? String(value) : JSON.stringify(value)}, naming the key`, () => {
        expect(refusal({ [key]: value }).message).to.match(new RegExp(`^${key} `));
      });
    }
  });

  it('accepts the bounds: timeout 1 and 2^31 - 1 ms', () => {
    expect(resolveOptions({ timeout: 1 }).timeout).to.equal(1);
    expect(resolveOptions({ timeout: MAX_TIMER_MS }).timeout).to.equal(MAX_TIMER_MS);
  });
});
