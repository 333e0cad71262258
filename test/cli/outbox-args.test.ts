import { expect } from 'chai';
import { UsageError, parseCommandLine } from '../../lib/cli/args';
import { redisOptions } from '../../lib/cli/redis';

describe('rx-smtp outbox arguments', () => {
  const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseCommandLine(['outbox', ...argv], env);

  it('takes Redis from --redis, else RX_SMTP_REDIS, else localhost; the queue from --queue, else rx-smtp', () => {
    expect(parse(['status'])).to.deep.equal({ command: 'outbox-status', redis: 'redis://127.0.0.1:6379', queue: 'rx-smtp' });
    expect(parse(['status'], { RX_SMTP_REDIS: 'redis://:pw@r:6380' })).to.include({ redis: 'redis://:pw@r:6380' });
    expect(parse(['status', '--redis', 'redis://r2', '--queue', 'news'], { RX_SMTP_REDIS: 'redis://r1' })).to.include({ redis: 'redis://r2', queue: 'news' });
  });

  it('parses add, work and uncertain with their options', () => {
    expect(parse(['add', '--from', 'a@example.com', '--to', 'b@example.com', '--id', 'order-1'])).to.deep.equal({
      command: 'outbox-add',
      redis: 'redis://127.0.0.1:6379',
      queue: 'rx-smtp',
      from: 'a@example.com',
      to: ['b@example.com'],
      id: 'order-1',
      // the message flags are send's own: none given here
      attach: [],
      headers: [],
    });
    expect(parse(['work', '--server', 'smtp://mx:587', '--user', 'alice', '--connections', '3', '--concurrency', '6', '--until-empty', '--tls', 'implicit'])).to.deep.equal({
      command: 'outbox-work',
      redis: 'redis://127.0.0.1:6379',
      queue: 'rx-smtp',
      server: 'smtp://mx:587',
      user: 'alice',
      connections: 3,
      concurrency: 6,
      untilEmpty: true,
      tls: 'implicit',
      // the connection flags are send's own: none of these given
      allowInsecureAuth: false,
      insecure: false,
      lmtp: false,
      verbose: false,
    });
    expect(parse(['uncertain', '--delivered', 'a', '--delivered', 'b', '--retry', 'c'])).to.deep.include({ delivered: ['a', 'b'], retry: ['c'] });
  });

  it('refuses what cannot run with a UsageError', () => {
    const bad = [
      [],
      ['flush'],
      ['add', '--to', 'b@example.com'],
      ['add', '--from', 'a@example.com', '--to', 'b@example.com', '--id', 'x', '--count', '2'],
      ['work'],
      ['work', '--server', 'smtp://mx', '--tls', 'sometimes'],
      ['work', '--server', 'smtp://mx', '--concurrency', '0'],
      ['status', '--redis', 'redis://user:secret@r:6379'],
      ['status', 'extra'],
    ];
    for (const argv of bad) expect(() => parse(argv), argv.join(' ')).to.throw(UsageError);
  });

  it('turns a Redis URL into ioredis options', () => {
    expect(redisOptions('redis://10.0.0.5:6380/2')).to.deep.equal({ host: '10.0.0.5', port: 6380, db: 2 });
    expect(redisOptions('rediss://bob:p%40ss@[::1]')).to.deep.equal({ host: '::1', port: 6379, username: 'bob', password: 'p@ss', tls: {} });
    for (const url of ['http://r', 'redis://r/zero', 'not a url']) expect(() => redisOptions(url), url).to.throw(UsageError);
  });
});
