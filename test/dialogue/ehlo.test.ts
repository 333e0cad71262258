import { expect } from 'chai';
import { MAX_EHLO_KEYWORDS } from '../../lib/dialogue/capabilities';
import type { DialogueContext } from '../../lib/dialogue/context';
import { ehlo, helo } from '../../lib/dialogue/ehlo';
import type { SessionOptions } from '../../lib/options';
import type { Connection } from '../../lib/transport/connection';
import { CLIENT_NAME, dialogueContext, drain, errorOf, openConnection } from '../fixtures/connection';
import { checkLeaks } from '../fixtures/handles';
import { type ScriptedServer, type Step, ehloReply, scriptedServer } from '../fixtures/scripted-server';

const EHLO = `EHLO ${CLIENT_NAME}`;
const HELO = `HELO ${CLIENT_NAME}`;
const LHLO = `LHLO ${CLIENT_NAME}`;

describe('dialogue/ehlo', () => {
  let server: ScriptedServer | undefined;
  let conn: Connection | undefined;
  afterEach(async () => {
    conn?.destroy();
    await server?.close();
    server = conn = undefined;
  });
  checkLeaks();

  /** A context on a connection to a server playing `script` (the greeting is left out: EHLO comes first here). */
  async function contextFor(script: Step[], options: SessionOptions = {}): Promise<DialogueContext> {
    server = await scriptedServer([...script, { stall: true }]);
    conn = await openConnection(server.port);
    return dialogueContext(conn, options);
  }

  describe('EHLO', () => {
    it('sends EHLO with the client name, emits ehlo, and records the extensions upper-cased with their parameters', async () => {
      const ctx = await contextFor([{ expect: EHLO, send: ehloReply(['pipelining', 'Size 35882577', 'AUTH PLAIN LOGIN']) }]);
      expect(await drain(ehlo(ctx))).to.deep.equal([{ status: 'ehlo' }]);
      expect([...ctx.capabilities!]).to.deep.equal([
        ['PIPELINING', ''],
        ['SIZE', '35882577'],
        ['AUTH', 'PLAIN LOGIN'],
      ]);
      expect(server!.lines).to.deep.equal([EHLO]);
    });

    it('records an empty map for a one-line 250', async () => {
      const ctx = await contextFor([{ expect: EHLO, send: '250 mx.test\r\n' }]);
      await drain(ehlo(ctx));
      expect(ctx.capabilities).to.deep.equal(new Map());
    });

    it('replaces the capabilities of an earlier EHLO', async () => {
      const ctx = await contextFor([{ expect: EHLO, send: ehloReply(['DSN']) }]);
      ctx.capabilities = new Map([['STARTTLS', '']]);
      await drain(ehlo(ctx));
      expect([...ctx.capabilities!.keys()]).to.deep.equal(['DSN']);
    });

    it(`fails an EHLO reply of ${MAX_EHLO_KEYWORDS + 1} keywords with ESERVERSYNC and records nothing`, async () => {
      const many = Array.from({ length: MAX_EHLO_KEYWORDS + 1 }, (_, i) => `X-K${i}`);
      const ctx = await contextFor([{ expect: EHLO, send: ehloReply(many) }]);
      const error = await errorOf(ehlo(ctx));
      expect(error.code).to.equal('ESERVERSYNC');
      expect(error.message).to.equal(`EHLO reply lists more than ${MAX_EHLO_KEYWORDS} extensions`);
      expect(ctx.capabilities).to.equal(null);
    });
  });

  describe('HELO fallback', () => {
    for (const code of [500, 502]) {
      it(`falls back to HELO when EHLO gets ${code}: ehlo then helo, and no extensions`, async () => {
        const ctx = await contextFor([
          { expect: EHLO, send: `${code} 5.5.1 command not recognized\r\n` },
          { expect: HELO, send: '250 mx.test\r\n' },
        ]);
        expect(await drain(ehlo(ctx))).to.deep.equal([{ status: 'ehlo' }, { status: 'helo' }]);
        expect(ctx.capabilities).to.deep.equal(new Map());
        expect(server!.lines).to.deep.equal([EHLO, HELO]);
      });
    }

    for (const code of [501, 504, 550, 554]) {
      it(`does not fall back on ${code}: ESERVERPERM for EHLO, no HELO sent`, async () => {
        const ctx = await contextFor([
          { expect: EHLO, send: `${code} no\r\n` },
          { expect: 'NOOP', send: '250 ok\r\n' },
        ]);
        const error = await errorOf(ehlo(ctx));
        expect(error.code).to.equal('ESERVERPERM');
        expect(error.command).to.equal(EHLO);
        expect(error.reply?.code).to.equal(code);
        expect(ctx.capabilities).to.equal(null);
        // The next line the server reads is the caller's NOOP: no HELO went out in between.
        await drain(conn!.request({ line: 'NOOP' }));
        expect(server!.lines).to.deep.equal([EHLO, 'NOOP']);
        expect(server!.failures).to.deep.equal([]);
      });
    }

    it('does not fall back on 421: ESERVERTEMP', async () => {
      const ctx = await contextFor([{ expect: EHLO, send: '421 4.3.2 shutting down\r\n' }]);
      const error = await errorOf(ehlo(ctx));
      expect(error.code).to.equal('ESERVERTEMP');
      expect(server!.lines).to.deep.equal([EHLO]);
    });

    it('fails a 3xx to EHLO with ESERVERSYNC', async () => {
      const ctx = await contextFor([{ expect: EHLO, send: '354 go ahead\r\n' }]);
      expect((await errorOf(ehlo(ctx))).code).to.equal('ESERVERSYNC');
    });

    it('fails a HELO refused with 5xx with ESERVERPERM, naming HELO', async () => {
      const ctx = await contextFor([
        { expect: EHLO, send: '502 no\r\n' },
        { expect: HELO, send: '550 not you\r\n' },
      ]);
      const error = await errorOf(ehlo(ctx));
      expect(error.code).to.equal('ESERVERPERM');
      expect(error.command).to.equal(HELO);
      expect(ctx.capabilities).to.equal(null);
    });

    it('fails a HELO answered 220 with ESERVERSYNC', async () => {
      const ctx = await contextFor([{ expect: HELO, send: '220 what\r\n' }]);
      expect((await errorOf(helo(ctx))).code).to.equal('ESERVERSYNC');
    });
  });

  describe('LHLO under lmtp', () => {
    it('sends LHLO instead of EHLO and records the extensions', async () => {
      const ctx = await contextFor([{ expect: LHLO, send: ehloReply(['PIPELINING', 'ENHANCEDSTATUSCODES']) }], { lmtp: true });
      expect(await drain(ehlo(ctx))).to.deep.equal([{ status: 'ehlo' }]);
      expect([...ctx.capabilities!.keys()]).to.deep.equal(['PIPELINING', 'ENHANCEDSTATUSCODES']);
      expect(server!.lines).to.deep.equal([LHLO]);
    });

    it('never falls back to HELO (RFC 2033 has none): 500 is ESERVERPERM for LHLO', async () => {
      const ctx = await contextFor([{ expect: LHLO, send: '500 unknown\r\n' }], { lmtp: true });
      const error = await errorOf(ehlo(ctx));
      expect(error.code).to.equal('ESERVERPERM');
      expect(error.command).to.equal(LHLO);
      expect(server!.lines).to.deep.equal([LHLO]);
    });
  });
});
