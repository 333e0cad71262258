import { expect } from 'chai';
import { type RedisFixture, startRedis } from '../fixtures/redis';
import { exampleCode, rewrite } from './blocks';
import { expectClean } from './expect-clean';
import { linesOf, runExample, withBuiltPackage } from './run-example';
import { exampleServers } from './servers';

// The README's Scaling out example, run as a reader runs it (see run-example.ts): rx-smtp/outbox
// from the built package, a private Redis, smtp-server over STARTTLS as alice.
describe('README examples: Scaling out', function () {
  this.timeout(90_000);
  const servers = exampleServers();
  withBuiltPackage();
  let redis: RedisFixture | null = null;
  before(async function () {
    redis = await startRedis();
    if (redis === null) this.skip(); // only without redis-server; under CI startRedis throws instead
  });
  after(() => redis?.stop());

  it('a mail added twice under one id is delivered once; the counts and no uncertain mail; the worker and Redis closed', async () => {
    const server = await servers.start();
    const run = await runExample(
      rewrite(exampleCode('outbox'), [
        ["host: 'redis.internal', port: 6379", `host: '127.0.0.1', port: ${redis!.port}`],
        ['smtp://smtp.example.com:587', server.url],
      ]),
    );

    expectClean(run);
    expect(linesOf(run.stdout)).to.have.members(["order-1234 delivered [ 'bob@example.com' ]", '0 waiting, 1 delivered, 0 uncertain']);
    expect(run.stderr).to.equal('');
    expect(server.messages.map((m) => [m.to, m.user, m.secure])).to.deep.equal([[['bob@example.com'], 'alice', true]]);
    expect(server.messages[0]!.raw.toString()).to.include('It has shipped.');
  });
});
