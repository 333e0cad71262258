import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import * as sinon from 'sinon';
import { defaultClientName } from '../lib/client-name';
import { SmtpError } from '../lib/errors';
import { createSession } from '../lib/session';
import { checkLeaks } from './fixtures/handles';
import { type ScriptedServer, hello, scriptedServer } from './fixtures/scripted-server';

// The real module object: the library reads os.hostname() through it at call time.
const osModule = require('node:os') as typeof import('node:os');

function refusal(clientName: unknown): SmtpError {
  try {
    createSession({ clientName: clientName as string });
  } catch (err) {
    expect(err, JSON.stringify(clientName)).to.be.instanceOf(SmtpError);
    expect((err as SmtpError).code, JSON.stringify(clientName)).to.equal('EINVAL');
    return err as SmtpError;
  }
  throw new Error(`expected EINVAL for clientName ${JSON.stringify(clientName)}`);
}

describe('client-name', () => {
  afterEach(() => sinon.restore());

  describe('defaultClientName', () => {
    it("is the machine's host name when it is a fully qualified domain name", () => {
      sinon.stub(osModule, 'hostname').returns('mail.example.com');
      expect(defaultClientName('127.0.0.1')).to.equal('mail.example.com');
    });

    for (const host of ['runner-7', 'localhost', 'my_host.example.com', 'host.example.com.', 'bad host.example.com']) {
      it(`is an address literal when the host name is ${JSON.stringify(host)}`, () => {
        sinon.stub(osModule, 'hostname').returns(host);
        expect(defaultClientName('192.0.2.7')).to.equal('[192.0.2.7]');
      });
    }

    it('writes IPv6 as [IPv6:...] and an IPv4-mapped address as plain IPv4 (RFC 5321 4.1.3)', () => {
      sinon.stub(osModule, 'hostname').returns('runner-7');
      expect(defaultClientName('2001:db8::1')).to.equal('[IPv6:2001:db8::1]');
      expect(defaultClientName('::ffff:192.0.2.1')).to.equal('[192.0.2.1]');
      expect(defaultClientName(undefined)).to.equal('[127.0.0.1]');
    });
  });

  describe('the clientName option', () => {
    for (const name of ['client.example.com', 'c', '[192.0.2.1]', '[IPv6:2001:db8::1]', 'a-b.example']) {
      it(`accepts ${JSON.stringify(name)}`, () => {
        expect(() => createSession({ clientName: name }).dispose()).to.not.throw();
      });
    }

    const bad: [string, unknown][] = [
      ['CR', 'client\r.example.com'],
      ['LF', 'client\n.example.com'],
      ['NUL', 'client\0.example.com'],
      ['CRLF and a command', 'client.example.com\r\nRSET'],
      ['U+010A (narrows to LF)', 'client\u010a.example.com'],
      ['an empty string', ''],
      ['a space', 'client example.com'],
      ['an unclosed literal', '[192.0.2.1'],
      ['a number', 42],
    ];
    for (const [what, name] of bad) {
      it(`EINVAL: ${what}`, () => {
        expect(refusal(name).message).to.match(/^clientName /);
      });
    }
  });

  describe('in EHLO', () => {
    let server: ScriptedServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });
    checkLeaks();

    async function ehloLine(options: { clientName?: string } = {}): Promise<string> {
      server = await scriptedServer(hello());
      const session = createSession({ tls: 'none', ...options });
      try {
        await lastValueFrom(session.connect({ host: '127.0.0.1', port: server.port }));
      } finally {
        session.dispose();
      }
      return server.lines[0]!;
    }

    it('sends the clientName option', async () => {
      expect(await ehloLine({ clientName: 'client.example.com' })).to.equal('EHLO client.example.com');
    });

    it('sends the FQDN host name by default', async () => {
      sinon.stub(osModule, 'hostname').returns('mail.example.com');
      expect(await ehloLine()).to.equal('EHLO mail.example.com');
    });

    it('sends the local address as a literal by default when the host name is not an FQDN', async () => {
      sinon.stub(osModule, 'hostname').returns('runner-7');
      expect(await ehloLine()).to.equal('EHLO [127.0.0.1]');
    });
  });
});
