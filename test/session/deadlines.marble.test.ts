import { expect } from 'chai';
import { type Observable, type OperatorFunction, catchError, concatMap, map, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { SessionState } from '../../lib/dialogue/transition';
import { SmtpError } from '../../lib/errors';
import { resolveReplyLimits } from '../../lib/reply/reply-parser';
import { Connection } from '../../lib/transport/connection';
import type { SmtpSession } from '../../lib/session';
import { createSessionWith } from '../../lib/session/session';
import { type FakeScript, type FakeSocket, fakeTransport } from '../fixtures/fake-transport';

// The whole connect dialogue in the virtual time of RxJS's TestScheduler (issue 11): greeting, EHLO,
// STARTTLS with its handshake, EHLO again, AUTH. Every deadline is RxJS's own `timeout`, so each
// phase's ETIMEDOUT is checked to the frame: a fake transport scripts the server, frame by frame.

/** The reply timeout, in frames. */
const T = 10;

const EHLO_REPLY = '250-fake\r\n250-STARTTLS\r\n250 AUTH PLAIN';

/** A server that answers everything one frame later, and completes its TLS handshake one frame after 220. */
const PROMPT: FakeScript = {
  connect: 1,
  greeting: 1,
  handshake: 1,
  replies: { EHLO: [1, EHLO_REPLY], STARTTLS: [1, '220 go ahead'], AUTH: [1, '235 2.7.0 ok'], QUIT: [1, '221 bye'] },
};

/** One letter a status, so that a dialogue reads as a marble. */
const LETTER: Partial<Record<SessionState['status'], string>> = {
  connecting: 'c',
  greeting: 'g',
  ehlo: 'e',
  starttls: 's',
  authenticating: 'a',
  connected: 'k',
};

describe('session: the connect dialogue in virtual time (marbles)', () => {
  let scheduler: TestScheduler;
  let sessions: SmtpSession[];
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
    sessions = [];
  });
  afterEach(() => {
    for (const session of sessions) session.dispose();
  });

  /** Connects as alice over a fake transport following `script`; statuses as letters, an error as its code. */
  function connect(script: FakeScript): { states$: Observable<string>; log: ReturnType<typeof fakeTransport>['log'] } {
    const transport = fakeTransport(scheduler, script);
    const session = createSessionWith({ scheduler, timeout: T, tlsOptions: {} }, { transport });
    sessions.push(session);
    const states$ = session.connect('localhost', 'alice', 's3cret').pipe(
      map((state) => LETTER[state.status] ?? state.status),
      catchError((err: unknown) => throwError(() => (err instanceof SmtpError ? err.code : String(err)))),
    );
    return { states$, log: transport.log };
  }

  it('greeting → EHLO → STARTTLS → handshake → EHLO → AUTH → connected, each step at its frame', () => {
    scheduler.run(({ expectObservable, flush }) => {
      const { states$, log } = connect(PROMPT);
      expectObservable(states$).toBe('cges-ea(k|)');
      flush();
      expect(log.written.map((w) => `${w.frame} ${w.line.split(' ')[0]}`)).to.deep.equal(['2 EHLO', '3 STARTTLS', '5 EHLO', '6 AUTH']);
    });
  });

  it('the TCP connect: ETIMEDOUT at the timeout, counted from the start', () => {
    scheduler.run(({ expectObservable }) => {
      const { states$ } = connect({ ...PROMPT, connect: undefined });
      expectObservable(states$).toBe(`c ${T - 1}ms #`, undefined, 'ETIMEDOUT');
    });
  });

  it('the greeting: ETIMEDOUT a timeout after the connect', () => {
    scheduler.run(({ expectObservable }) => {
      const { states$ } = connect({ ...PROMPT, greeting: undefined });
      // connect at 1, the greeting due by 1 + T.
      expectObservable(states$).toBe(`cg ${T - 1}ms #`, undefined, 'ETIMEDOUT');
    });
  });

  it('a greeting one frame inside the timeout is in time', () => {
    scheduler.run(({ expectObservable }) => {
      const { states$ } = connect({ ...PROMPT, greeting: T - 1 });
      expectObservable(states$).toBe(`cg ${T - 2}ms es-ea(k|)`);
    });
  });

  it('EHLO: ETIMEDOUT a timeout after EHLO was written', () => {
    scheduler.run(({ expectObservable }) => {
      const { states$ } = connect({ ...PROMPT, replies: { ...PROMPT.replies, EHLO: [T + 5, EHLO_REPLY] } });
      expectObservable(states$).toBe(`cge ${T - 1}ms #`, undefined, 'ETIMEDOUT');
    });
  });

  it('STARTTLS: ETIMEDOUT a timeout after STARTTLS was written', () => {
    scheduler.run(({ expectObservable }) => {
      const { states$ } = connect({ ...PROMPT, replies: { ...PROMPT.replies, STARTTLS: [T + 1, '220 too late'] } });
      expectObservable(states$).toBe(`cges ${T - 1}ms #`, undefined, 'ETIMEDOUT');
    });
  });

  it('the TLS handshake: ETIMEDOUT a timeout after the 220', () => {
    scheduler.run(({ expectObservable }) => {
      const { states$ } = connect({ ...PROMPT, handshake: undefined });
      // 220 at 4: the handshake is due by 4 + T.
      expectObservable(states$).toBe(`cges ${T}ms #`, undefined, 'ETIMEDOUT');
    });
  });

  it('EHLO after the handshake: ETIMEDOUT a timeout after it was written', () => {
    scheduler.run(({ expectObservable }) => {
      const { states$ } = connect({ ...PROMPT, secureReplies: { ...PROMPT.replies, EHLO: [T, EHLO_REPLY] } });
      // The second EHLO is written at 5, once the handshake is done.
      expectObservable(states$).toBe(`cges-e ${T - 1}ms #`, undefined, 'ETIMEDOUT');
    });
  });

  it('AUTH: ETIMEDOUT a timeout after AUTH was written', () => {
    scheduler.run(({ expectObservable }) => {
      const { states$ } = connect({ ...PROMPT, replies: { ...PROMPT.replies, AUTH: [T + 1, '235 too late'] } });
      expectObservable(states$).toBe(`cges-ea ${T - 1}ms #`, undefined, 'ETIMEDOUT');
    });
  });

  it('a server trickling its EHLO reply line by line does not extend the deadline', () => {
    scheduler.run(({ expectObservable }) => {
      const transport = fakeTransport(scheduler, { ...PROMPT, replies: {} });
      const session = createSessionWith({ scheduler, timeout: T, tlsOptions: {} }, { transport });
      sessions.push(session);
      // EHLO is written at 2; a continuation line every 3 frames, never the last one.
      for (let at = 5; at < 40; at += 3) scheduler.schedule(() => transport.log.sockets[0]?.reply('250-more'), at);
      expectObservable(
        session.connect('localhost').pipe(
          map((state) => LETTER[state.status] ?? state.status),
          catchError((err: unknown) => throwError(() => (err as SmtpError).code)),
        ),
      ).toBe(`cge ${T - 1}ms #`, undefined, 'ETIMEDOUT');
    });
  });

  describe('sending', () => {
    /** Connects without TLS or AUTH, then runs `send$` of the connected session. */
    function connected(replies: FakeScript['replies']): SmtpSession {
      const transport = fakeTransport(scheduler, { connect: 1, greeting: 1, replies: { EHLO: [1, '250-fake\r\n250 PIPELINING'], ...replies } });
      const session = createSessionWith({ scheduler, timeout: T, tls: 'none' }, { transport });
      sessions.push(session);
      session.connect('localhost').subscribe();
      return session;
    }
    const MAIL = { from: 'a@example.test', to: 'b@example.test', body: 'Subject: t\r\n\r\nhi\r\n' };

    it('pipelined MAIL, RCPT and DATA each get the whole timeout from when they became the oldest', () => {
      scheduler.run(({ expectObservable, cold }) => {
        const session = connected({ MAIL: [T - 1, '250 ok'], RCPT: [2 * (T - 1), '250 ok'], DATA: [3 * (T - 1), '354 go'], '.': [1, '250 queued'] });
        // Written at 3 (once connected); the replies come 9, 18 and 27 frames later: 9 apart, within 10 each.
        const sent$ = cold('---a|').pipe(concatMapTo(() => session.sendAll([MAIL]).pipe(map((o) => (o.ok ? 'o' : codeOf(o.error))))));
        expectObservable(sent$).toBe(`--- ${3 * (T - 1) + 1}ms (o|)`);
      });
    });

    it('the end of data unanswered: ETIMEDOUT a timeout after it was written', () => {
      scheduler.run(({ expectObservable, cold }) => {
        const session = connected({ MAIL: [1, '250 ok'], RCPT: [1, '250 ok'], DATA: [1, '354 go'] });
        const sent$ = cold('---a|').pipe(
          concatMapTo(() => session.sendAll([MAIL])),
          catchError((err: unknown) => throwError(() => codeOf(err))),
        );
        // MAIL, RCPT and DATA at 3; 354 at 4, and the content and "." at once: due by 4 + T.
        // (Whether the mail is then uncertain or not sent depends on its bytes having left in a
        // turn of the event loop, which virtual time does not have: the socket tests pin that.)
        expectObservable(sent$).toBe(`--- ${T + 1}ms #`, undefined, 'ETIMEDOUT');
      });
    });
  });

  describe('a full socket buffer', () => {
    it('drained(): ETIMEDOUT a timeout after the wait began, unless drain comes first', () => {
      scheduler.run(({ expectObservable, cold }) => {
        const transport = fakeTransport(scheduler, { connect: 0, replies: {} });
        const full = (): Connection => {
          const { socket } = transport.open({ host: 'localhost', port: 25, implicitTls: false }, undefined);
          Object.assign(socket as unknown as FakeSocket, { writableNeedDrain: true, writableLength: 65_536 });
          return new Connection(socket, 'connect', { timeout: T, limits: resolveReplyLimits(), scheduler });
        };
        const stalled = full();
        const waited$ = cold('--a|').pipe(
          concatMapTo(() => stalled.drained()),
          catchError((err: unknown) => throwError(() => codeOf(err))),
        );
        expectObservable(waited$).toBe(`-- ${T}ms #`, undefined, 'ETIMEDOUT');
        const reading = full();
        scheduler.schedule(() => reading.currentSocket.emit('drain'), 5);
        expectObservable(cold('--a|').pipe(concatMapTo(() => reading.drained()), map(() => 'd'))).toBe('-----(d|)');
      });
    });
  });
});

/** The error of a failed step as its code, for marbles. */
function codeOf(err: unknown): string {
  return err instanceof SmtpError ? err.code : String(err);
}

/** Like RxJS's deprecated concatMapTo, for a factory: the inner Observable made when the outer emits. */
function concatMapTo<T>(make: () => Observable<T>): OperatorFunction<unknown, T> {
  return concatMap(() => make());
}
