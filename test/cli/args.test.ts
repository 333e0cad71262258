import { expect } from 'chai';
import { UsageError, parseCommandLine } from '../../lib/cli/args';
import { duration } from '../../lib/cli/values';

describe('rx-smtp arguments', () => {
  const send = ['send', '--server', 'smtp://mx:587', '--from', 'a@example.com', '--to', 'b@example.com'];
  const defaults = { insecure: false, lmtp: false, allowInsecureAuth: false, verbose: false };

  it('parses send with repeated --to and every option', () => {
    const command = parseCommandLine([
      ...send,
      '--to',
      'c@example.com, Dave <d@example.com>',
      '--user',
      'alice',
      '--password-file',
      'pw',
      '--auth',
      'cram-md5',
      '--subject',
      'S',
      '--body',
      '@body.txt',
      '--header',
      'X-Campaign: spring',
      '--header',
      'Reply-To: r@example.com',
      '--attach',
      'a.pdf',
      '--attach',
      'b.png',
      '--tls',
      'implicit',
      '--ca',
      'ca.pem',
      '--timeout',
      '2m',
      '--port',
      '2525',
      '-6',
      '--ehlo',
      'client.example.com',
      '--protocol',
      'lmtp',
      '--allow-insecure-auth',
      '--verbose',
      '--count',
      '20',
    ]);
    expect(command).to.deep.equal({
      command: 'send',
      server: 'smtp://mx:587',
      port: 2525,
      family: 6,
      from: 'a@example.com',
      to: ['b@example.com', 'c@example.com, Dave <d@example.com>'],
      user: 'alice',
      passwordFile: 'pw',
      auth: 'CRAM-MD5',
      subject: 'S',
      body: '@body.txt',
      headers: [
        ['X-Campaign', 'spring'],
        ['Reply-To', 'r@example.com'],
      ],
      attach: ['a.pdf', 'b.png'],
      tls: 'implicit',
      ca: 'ca.pem',
      timeout: 120_000,
      ehlo: 'client.example.com',
      insecure: false,
      lmtp: true,
      allowInsecureAuth: true,
      verbose: true,
      count: 20,
    });
  });

  it('parses --data, -4 and --insecure', () => {
    expect(parseCommandLine([...send, '--data', '-', '-4', '--insecure'])).to.deep.include({ data: '-', family: 4, insecure: true });
  });

  it('parses probe with its server as the one positional argument, and --user', () => {
    expect(parseCommandLine(['probe', 'smtp://mx:25', '--tls', 'none'])).to.deep.equal({ command: 'probe', server: 'smtp://mx:25', tls: 'none', ...defaults });
    expect(parseCommandLine(['probe', 'smtp://mx:587', '--user', 'alice'])).to.deep.equal({ command: 'probe', server: 'smtp://mx:587', user: 'alice', ...defaults });
  });

  it('lets --mails stand in for --from and --to', () => {
    expect(parseCommandLine(['send', '--server', 'mx', '--mails', 'm.jsonl'])).to.include({ mails: 'm.jsonl' });
  });

  it('answers --help for the tool and for each command', () => {
    expect(parseCommandLine(['--help'])).to.deep.equal({ command: 'help' });
    expect(parseCommandLine(['send', '--help'])).to.deep.equal({ command: 'help' });
    expect(parseCommandLine(['probe', '-h'])).to.deep.equal({ command: 'help' });
  });

  describe('durations', () => {
    const cases: [string, number][] = [
      ['30', 30_000],
      ['30s', 30_000],
      ['2m', 120_000],
      ['500ms', 500],
      ['1h', 3_600_000],
    ];
    for (const [text, ms] of cases) {
      it(`reads ${text} as ${ms} ms`, () => {
        expect(duration(text, '--timeout')).to.equal(ms);
      });
    }
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
    ['--auth without --user', [...send, '--auth', 'PLAIN'], /--auth needs --user/],
    ['probe without a server', ['probe'], /exactly one server/],
    ['a --password flag', [...send, '--password', 'hunter2'], /--password is not accepted: .*shell history/],
    ['a --password=value flag', [...send, '--password=hunter2'], /--password is not accepted/],
    ['a --password flag even on probe', ['probe', 'mx', '--password', 'x'], /--password is not accepted/],
    ['a --timeout with an unknown unit', [...send, '--timeout', '3d'], /--timeout must be a duration such as 30s, 2m/],
    ['a --timeout of 0', [...send, '--timeout', '0s'], /--timeout must be a duration/],
    ['a --port out of range', [...send, '--port', '70000'], /--port must be a whole number from 1 to 65535/],
    ['-4 with -6', [...send, '-4', '-6'], /-4 and -6 cannot be combined/],
    ['--insecure with --ca', [...send, '--insecure', '--ca', 'ca.pem'], /--insecure and --ca cannot be combined/],
    ['a --protocol other than smtp or lmtp', [...send, '--protocol', 'http'], /--protocol must be smtp or lmtp/],
    ['a --header without a colon', [...send, '--header', 'X-Campaign spring'], /--header must be "Name: value"/],
    ['a --header with a space in its name', [...send, '--header', 'X Campaign: spring'], /--header must be "Name: value"/],
    ['a --subject with a line break', [...send, '--subject', 'hi\r\nBcc: x@example.com'], /--subject must not contain a line break/],
    ['--data with --body', [...send, '--data', 'm.eml', '--body', 'x'], /--data sends a message as it is: it cannot be combined with --body/],
    ['--data with --attach', [...send, '--data', 'm.eml', '--attach', 'a.pdf'], /cannot be combined with --attach/],
    ['a --to that is not an address, naming the mistake', [...send, '--to', 'Bob <bob@example.com'], /"Bob <bob@example.com" is not an address: a < has no matching >/],
    ['a --to with semicolons', [...send, '--to', 'b@example.com; c@example.com'], /use ","/],
    ['a --from that is a list', ['send', '--server', 'mx', '--from', 'a@example.com, z@example.com', '--to', 'b@example.com'], /must be exactly one address/],
    [
      '--user with --tls none, pointing to the flag',
      [...send, '--user', 'alice', '--tls', 'none'],
      /--user with --tls none would send the password in clear text: add --allow-insecure-auth/,
    ],
  ];
  for (const [what, argv, message] of errors) {
    it(`refuses ${what} with a UsageError`, () => {
      expect(() => parseCommandLine(argv)).to.throw(UsageError, message);
    });
  }
});
