import { expect } from 'chai';
import { ExitCode, exitCodeFor, replyExitCode, worstExitCode } from '../../lib/cli/exit-codes';
import { SmtpError, type SmtpErrorCode } from '../../lib/errors';
import { checkLeaks } from '../fixtures/handles';
import { GREETING, reply, scriptedServer } from '../fixtures/scripted-server';
import { runCli, withBuiltCli } from './run';

describe('rx-smtp exit codes', () => {
  const cases: [string, boolean, ExitCode][] = [
    ['ESERVERPERM', false, 69],
    ['ENOTSUP', false, 69],
    ['EMSGSIZE', false, 69],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', false, 69],
    ['ESERVERTEMP', false, 75],
    ['ETIMEDOUT', false, 75],
    ['ESHUTDOWN', false, 75],
    ['ECONNREFUSED', false, 75],
    ['ECONNRESET', false, 75],
    ['ESERVERSYNC', false, 76],
    ['EPROTO', false, 76],
    ['EINVAL', false, 64],
    ['ESERVERPERM', true, 77],
    ['ESERVERTEMP', true, 77],
    ['ENOTSUP', true, 77],
    ['ETIMEDOUT', true, 75],
    ['EPROTO', true, 76],
  ];
  for (const [code, duringAuth, status] of cases) {
    it(`maps ${code}${duringAuth ? ' during AUTH' : ''} to ${status}`, () => {
      expect(exitCodeFor(new SmtpError(code as SmtpErrorCode, 'x'), duringAuth)).to.equal(status);
    });
  }

  it('maps an error that is not an SmtpError to 70 (a bug)', () => {
    expect(exitCodeFor(new TypeError('oops'), false)).to.equal(ExitCode.Software);
  });

  it('maps a refused recipient by its reply class', () => {
    expect([replyExitCode({ code: 550, lines: [] }), replyExitCode({ code: 450, lines: [] })]).to.deep.equal([69, 75]);
  });

  it('reports 0 for a run without failures and 75 only when every failure was temporary', () => {
    expect(worstExitCode([])).to.equal(0);
    expect(worstExitCode([75, 75])).to.equal(75);
    expect(worstExitCode([75, 69, 75])).to.equal(69);
    expect(worstExitCode([69, 76, 77])).to.equal(77);
  });

  describe('as the process status', () => {
    let server: Awaited<ReturnType<typeof scriptedServer>> | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });
    checkLeaks();
  withBuiltCli();

    it('exits 76 when the server breaks the protocol (a code EHLO cannot take)', async () => {
      server = await scriptedServer([{ send: GREETING }, { expect: /^EHLO /, send: reply(354, 'go ahead') }, { stall: true }]);
      const run = await runCli(['probe', `smtp://127.0.0.1:${server.port}`]);

      expect(run.code).to.equal(76);
      expect(run.stderr).to.equal('rx-smtp: ESERVERSYNC Unexpected reply to EHLO [127.0.0.1]: 354 go ahead\n');
    });

    it('exits 76 when a reply nobody asked for follows the last EHLO reply', async () => {
      server = await scriptedServer([{ send: GREETING }, { expect: /^EHLO /, send: reply(250, 'test') + reply(250, 'surprise') }, { stall: true }]);
      const run = await runCli(['probe', `smtp://127.0.0.1:${server.port}`]);

      expect(run.code).to.equal(76);
      expect(run.stderr).to.equal('rx-smtp: ESERVERSYNC reply to no command: 250 surprise\n');
    });

    it('exits 69 when the greeting is 554', async () => {
      server = await scriptedServer([{ send: reply(554, 'go away') }, { expect: 'QUIT', send: reply(221, 'bye') }, { close: true }]);
      const run = await runCli(['probe', `smtp://127.0.0.1:${server.port}`]);

      expect(run.code).to.equal(69);
      expect(run.stderr).to.equal('rx-smtp: ESERVERPERM Permanent failure: 554 go away\n');
    });
  });
});
