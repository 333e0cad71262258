import { expect } from 'chai';
import { UsageError, parseCommandLine } from '../../lib/cli/args';

describe('rx-smtp arguments', () => {
  const send = ['send', '--server', 'smtp://mx:587', '--from', 'a@example.com', '--to', 'b@example.com'];

  it('parses send with repeated --to and every option', () => {
    const command = parseCommandLine([
      ...send,
      '--to',
      'c@example.com',
      '--user',
      'alice',
      '--password-file',
      'pw',
      '--subject',
      'S',
      '--body',
      '-',
      '--tls',
      'implicit',
      '--ca',
      'ca.pem',
      '--timeout',
      '30',
      '--verbose',
      '--count',
      '20',
    ]);
    expect(command).to.deep.equal({
      command: 'send',
      server: 'smtp://mx:587',
      from: 'a@example.com',
      to: ['b@example.com', 'c@example.com'],
      user: 'alice',
      passwordFile: 'pw',
      subject: 'S',
      body: '-',
      tls: 'implicit',
      ca: 'ca.pem',
      timeout: 30,
      verbose: true,
      count: 20,
    });
  });

  it('parses probe with its server as the one positional argument', () => {
    expect(parseCommandLine(['probe', 'smtp://mx:25', '--tls', 'none'])).to.deep.equal({
      command: 'probe',
      server: 'smtp://mx:25',
      tls: 'none',
      verbose: false,
    });
  });

  it('lets --mails stand in for --from and --to', () => {
    expect(parseCommandLine(['send', '--server', 'mx', '--mails', 'm.jsonl'])).to.include({ mails: 'm.jsonl' });
  });

  it('answers --help for the tool and for each command', () => {
    expect(parseCommandLine(['--help'])).to.deep.equal({ command: 'help' });
    expect(parseCommandLine(['send', '--help'])).to.deep.equal({ command: 'help' });
    expect(parseCommandLine(['probe', '-h'])).to.deep.equal({ command: 'help' });
  });

  const errors: [string, string[], RegExp][] = [
    ['no command', [], /no command given/],
    ['an unknown command', ['sned'], /unknown command "sned"/],
    ['an unknown option', [...send, '--frm', 'x'], /Unknown option '--frm'/],
    ['a missing --server', ['send', '--from', 'a@example.com', '--to', 'b@example.com'], /--server is required/],
    ['a missing --to', ['send', '--server', 'mx', '--from', 'a@example.com'], /--to is required/],
    ['a bad --tls', [...send, '--tls', 'maybe'], /--tls must be one of starttls, starttls-required, implicit, none/],
    ['a --count of 0', [...send, '--count', '0'], /--count must be a whole number/],
    ['a --count that is not a number', [...send, '--count', '1e3'], /--count must be a whole number/],
    ['--count with --mails', [...send, '--count', '2', '--mails', 'm.jsonl'], /cannot be combined/],
    ['--password-file without --user', [...send, '--password-file', 'pw'], /--password-file needs --user/],
    ['probe without a server', ['probe'], /exactly one server/],
    ['a --password flag', [...send, '--password', 'hunter2'], /--password is not accepted: .*shell history/],
    ['a --password=value flag', [...send, '--password=hunter2'], /--password is not accepted/],
    ['a --password flag even on probe', ['probe', 'mx', '--password', 'x'], /--password is not accepted/],
  ];
  for (const [what, argv, message] of errors) {
    it(`refuses ${what} with a UsageError`, () => {
      expect(() => parseCommandLine(argv)).to.throw(UsageError, message);
    });
  }
});
