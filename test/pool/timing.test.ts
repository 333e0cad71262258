import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import * as sinon from 'sinon';
import { type SmtpPool, createPool } from '../../lib/pool';
import { type ScriptedServer, defaultServer } from '../fixtures/scripted-server';
import { turns } from '../fixtures/observe';
import { numbered } from '../send/helpers';

describe('pool timing (virtual time)', () => {
  let clock: sinon.SinonFakeTimers;
  let scripted: ScriptedServer | undefined;
  let pool: SmtpPool | undefined;
  beforeEach(() => (clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })));
  afterEach(async () => {
    pool?.close().subscribe();
    await clock.runAllAsync();
    clock.restore();
    await scripted?.close();
    scripted = pool = undefined;
  });

  it('keeps to rateLimit over the whole pool: a burst of `messages`, then messages per perMs', async () => {
    const mailTimes: number[] = [];
    scripted = await defaultServer({
      MAIL: () => {
        mailTimes.push(Date.now());
        return '250 2.1.0 Ok\r\n';
      },
    });
    pool = createPool({ server: { host: '127.0.0.1', port: scripted.port }, tls: 'none', maxConnections: 3, rateLimit: { messages: 2, perMs: 1_000 } });
    let done = false;
    const all = lastValueFrom(pool.sendAll(Array.from({ length: 6 }, (_, i) => numbered(i))).pipe(toArray())).finally(() => (done = true));
    while (!done) {
      await turns(20);
      await clock.tickAsync(50);
    }
    const outcomes = await all;

    expect(outcomes.filter((o) => o.ok)).to.have.length(6);
    // Token i is granted at max(0, (i - 1) * 500) ms; a MAIL can only follow its token.
    mailTimes.sort((a, b) => a - b);
    [0, 0, 500, 1_000, 1_500, 2_000].forEach((earliest, i) => expect(mailTimes[i], `mail ${i}`).to.be.at.least(earliest));
    expect(mailTimes.filter((t) => t < 500)).to.have.length(2);
  });

  it('QUITs a connection after idleTimeout without work, not before', async () => {
    scripted = await defaultServer();
    pool = createPool({ server: { host: '127.0.0.1', port: scripted.port }, tls: 'none', idleTimeout: 10_000 });
    const sending = lastValueFrom(pool.send(numbered(1)));
    while (scripted.lines.filter((l) => l === 'DATA').length === 0) await turns(1);
    await turns(20);
    await sending;
    await turns(20);

    await clock.tickAsync(9_999);
    await turns(20);
    expect(scripted.lines).to.not.include('QUIT');
    await clock.tickAsync(1);
    await scripted.received('QUIT');
  });
});
