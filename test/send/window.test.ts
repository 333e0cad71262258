import * as net from 'node:net';
import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import type { Mail } from '../../lib/mail/mail';
import type { SmtpSession } from '../../lib/session';
import { DEFAULT_WINDOW_BYTES, DEFAULT_WINDOW_MAILS } from '../../lib/send/window';
import { checkLeaks } from '../fixtures/handles';
import { turns } from '../fixtures/observe';
import { connectTo } from './helpers';

// The CHUNKING window (issue 12): mails written whole (MAIL, RCPT, BDAT n LAST and the content)
// before their replies are read are bounded in mails and in content bytes. A server that holds every
// reply until the test releases it shows exactly what the client has in flight at each moment.

/** A CHUNKING server that counts whole mails received and answers them only when told. */
interface HoldingServer {
  port: number;
  /** Mails received whole and not answered yet, with their content sizes. */
  unanswered: number[];
  /** The most mails, and content bytes, ever unanswered at once. */
  peak: { mails: number; bytes: number };
  /** Answers the `n` oldest mails (RSET, MAIL, RCPT, BDAT LAST: 250 each). */
  release(n: number): void;
  close(): Promise<void>;
}

async function holdingServer(): Promise<HoldingServer> {
  const sockets = new Set<net.Socket>();
  // Per mail, the replies it is owed (RSET before it included), in order.
  const owed: string[][] = [];
  const unanswered: number[] = [];
  const peak = { mails: 0, bytes: 0 };
  let socket: net.Socket | undefined;
  const server = net.createServer((peer) => {
    socket = peer;
    sockets.add(peer);
    peer.on('close', () => sockets.delete(peer));
    peer.write('220 hold ESMTP\r\n');
    let buffer = Buffer.alloc(0);
    let chunk = 0; // bytes of BDAT content still to read
    let replies: string[] = [];
    peer.on('data', (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        if (chunk > 0) {
          if (buffer.length < chunk) return;
          buffer = buffer.subarray(chunk);
          const size = chunk;
          chunk = 0;
          owed.push(replies);
          unanswered.push(size);
          replies = [];
          peak.mails = Math.max(peak.mails, unanswered.length);
          peak.bytes = Math.max(peak.bytes, unanswered.reduce((a, b) => a + b, 0));
          continue;
        }
        const lf = buffer.indexOf('\r\n');
        if (lf < 0) return;
        const line = buffer.subarray(0, lf).toString('latin1');
        buffer = buffer.subarray(lf + 2);
        if (line.startsWith('EHLO')) peer.write('250-hold\r\n250-PIPELINING\r\n250 CHUNKING\r\n');
        else if (line === 'QUIT') peer.end('221 bye\r\n');
        else {
          replies.push('250 ok');
          const bdat = /^BDAT (\d+) LAST$/.exec(line);
          if (bdat !== null) chunk = Number(bdat[1]);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    unanswered,
    peak,
    release(n) {
      for (let i = 0; i < n && owed.length > 0; i++) {
        socket!.write(owed.shift()!.map((r) => `${r}\r\n`).join(''));
        unanswered.shift();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const mail = (i: number, bytes: number): Mail => ({ from: 'a@example.test', to: `r${i}@example.test`, body: `Subject: ${i}\r\n\r\n${'x'.repeat(bytes)}\r\n` });

describe('send/the CHUNKING window', () => {
  let server: HoldingServer | undefined;
  let session: SmtpSession | undefined;
  afterEach(async () => {
    session?.dispose();
    await server?.close();
    server = session = undefined;
  });
  checkLeaks();

  /** Sends `mails`, releasing one reply at a time, and returns the outcomes; the server records the peaks. */
  async function sendReleasingOneByOne(mails: Mail[]): Promise<boolean[]> {
    const done = lastValueFrom(session!.sendAll(mails).pipe(toArray()));
    let finished = false;
    void done.finally(() => (finished = true));
    while (!finished) {
      await turns(5);
      server!.release(1);
    }
    return (await done).map((o) => o.ok);
  }

  it('never has more mails in flight than window.mails', async () => {
    server = await holdingServer();
    session = await connectTo(server.port, { window: { mails: 4 } });
    const outcomes = await sendReleasingOneByOne(Array.from({ length: 20 }, (_, i) => mail(i, 100)));
    expect(outcomes).to.deep.equal(Array(20).fill(true));
    expect(server.peak.mails).to.equal(4);
  });

  it('never has more content bytes in flight than window.bytes; a mail larger than the bound goes alone', async () => {
    server = await holdingServer();
    session = await connectTo(server.port, { window: { mails: 100, bytes: 10_000 } });
    const sizes = [3_000, 3_000, 3_000, 3_000, 15_000, 2_000, 2_000];
    const outcomes = await sendReleasingOneByOne(sizes.map((bytes, i) => mail(i, bytes)));
    expect(outcomes).to.deep.equal(Array(sizes.length).fill(true));
    // Three mails of about 3 KB fit in 10,000 bytes, never four; the big one was alone in flight.
    expect(server.peak.mails).to.equal(3);
    expect(server.peak.bytes).to.be.at.most(15_100);
  });

  it('fills the default window: 64 mails in flight at once, not one more', async () => {
    server = await holdingServer();
    session = await connectTo(server.port);
    const outcomes = await sendReleasingOneByOne(Array.from({ length: DEFAULT_WINDOW_MAILS + 10 }, (_, i) => mail(i, 100)));
    expect(outcomes.every(Boolean)).to.equal(true);
    expect(server.peak.mails).to.equal(DEFAULT_WINDOW_MAILS);
    expect(server.peak.bytes).to.be.at.most(DEFAULT_WINDOW_BYTES);
  });
});
