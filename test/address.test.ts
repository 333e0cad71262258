import { expect } from 'chai';
import { type ServerAddress, parseServerAddress } from '../lib/address';
import { SmtpError } from '../lib/errors';

/** The EINVAL that parsing `address` throws; fails the test if it parses. */
function refusal(address: unknown): SmtpError {
  try {
    const parsed = parseServerAddress(address as ServerAddress);
    expect.fail(`expected EINVAL for ${JSON.stringify(address)}, got ${JSON.stringify(parsed)}`);
  } catch (err) {
    expect(err, JSON.stringify(address)).to.be.instanceOf(SmtpError);
    expect((err as SmtpError).code, JSON.stringify(address)).to.equal('EINVAL');
    return err as SmtpError;
  }
}

describe('address: parseServerAddress', () => {
  describe('valid addresses', () => {
    const cases: [ServerAddress, { host: string; port: number; implicitTls: boolean }][] = [
      ['smtp://mail.example.com:587', { host: 'mail.example.com', port: 587, implicitTls: false }],
      ['smtp://mail.example.com', { host: 'mail.example.com', port: 25, implicitTls: false }],
      ['smtps://mail.example.com', { host: 'mail.example.com', port: 465, implicitTls: true }],
      ['mail.example.com', { host: 'mail.example.com', port: 25, implicitTls: false }],
      ['mail.example.com:2525', { host: 'mail.example.com', port: 2525, implicitTls: false }],
      ['127.0.0.1:1', { host: '127.0.0.1', port: 1, implicitTls: false }],
      ['[::1]:65535', { host: '::1', port: 65535, implicitTls: false }],
      [{ host: 'mail.example.com' }, { host: 'mail.example.com', port: 25, implicitTls: false }],
      [{ host: '127.0.0.1', port: 465 }, { host: '127.0.0.1', port: 465, implicitTls: true }],
      [{ host: '[2001:db8::1]', port: 25 }, { host: '2001:db8::1', port: 25, implicitTls: false }],
    ];
    for (const [address, expected] of cases) {
      it(`${JSON.stringify(address)} -> ${expected.host} port ${expected.port}${expected.implicitTls ? ', implicit TLS' : ''}`, () => {
        expect(parseServerAddress(address)).to.deep.equal(expected);
      });
    }
  });

  describe('EINVAL: empty host', () => {
    for (const address of ['', 'smtp://', { host: '' }]) {
      it(`refuses ${JSON.stringify(address)}`, () => {
        expect(refusal(address).message).to.equal('server host is empty');
      });
    }
  });

  describe('EINVAL: a port that is not an integer in 1..65535', () => {
    for (const port of [0, 65536, 1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 'abc', '25']) {
      it(`refuses { port: ${typeof port === 'number' ? String(port) : JSON.stringify(port)} } (${typeof port})`, () => {
        expect(refusal({ host: 'mail.example.com', port }).message).to.match(/^port must be an integer in 1\.\.65535/);
      });
    }
    for (const address of ['mail.example.com:0', 'smtp://mail.example.com:0', 'mail.example.com:65536', 'mail.example.com:1.5', 'mail.example.com:abc']) {
      it(`refuses ${JSON.stringify(address)}`, () => {
        expect(refusal(address).message).to.match(/^(port must be an integer in 1\.\.65535|malformed server URL)/);
      });
    }
  });

  describe('EINVAL: a malformed URL', () => {
    const cases: [string, RegExp][] = [
      ['smtp://:25', /^malformed server URL/],
      ['http://mail.example.com', /^unsupported URL scheme "http:"/],
      ['smtp://alice:s3cret@mail.example.com', /pass credentials to connect\(\)/],
      ['smtp://mail.example.com/path', /scheme:\/\/host\[:port\] only/],
      ['smtp://mail.example.com?x=1', /scheme:\/\/host\[:port\] only/],
      ['smtp://mail.example.com#frag', /scheme:\/\/host\[:port\] only/],
      ['mail example.com', /^malformed server URL/],
      ['smtp://mail.example.com\u0000:25', /^malformed server URL/],
      // The URL parser would quietly drop these: "mail.exam\r\nple.com" must not become "mail.example.com".
      ['smtp://mail.exam\r\nple.com:25', /^malformed server URL/],
      ['mail.example.com\t:25', /^malformed server URL/],
      ['smtp://mail.example.com:25\r\n', /^malformed server URL/],
      [' mail.example.com', /^malformed server URL/],
    ];
    for (const [address, message] of cases) {
      it(`refuses ${JSON.stringify(address)}`, () => {
        expect(refusal(address).message).to.match(message);
      });
    }
  });

  describe('EINVAL: a host that is not a name or an IP address', () => {
    for (const host of ['mail.example.com\r\nRSET', 'mail example.com', 'mail.example.com\u0000', '-mail.example.com', 'x'.repeat(256)]) {
      it(`refuses { host: ${JSON.stringify(host.slice(0, 30))} }`, () => {
        expect(refusal({ host, port: 25 }).message).to.match(/^invalid server host/);
      });
    }
  });

  describe('EINVAL: not an address at all', () => {
    for (const address of [null, undefined, 25, true, { host: 5 }]) {
      it(`refuses ${String(JSON.stringify(address))}`, () => {
        refusal(address);
      });
    }
  });
});
