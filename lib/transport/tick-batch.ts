import type { SmtpSocket } from './socket';

/**
 * Holds a socket's writes made in one turn of the event loop and lets them go together on the next
 * tick, in one socket write: pipelined commands (RFC 2920), or a message's end of data and the next
 * envelope, then share a TCP segment. Counts the batches, so that a writer can later ask whether
 * what it wrote has left ({@link leftCheck}): a connection that ends before the tick drops its batch.
 *
 * @example
 * ```ts
 * batches.hold(socket);
 * socket.write('MAIL FROM:<a@example.com>\r\n');
 * const left = batches.leftCheck(); // true from the next tick on
 * ```
 */
export class TickBatches {
  /** The socket whose writes are held (corked), until the next tick. */
  private held: SmtpSocket | undefined;
  private begun = 0;
  private released = 0;

  /** Holds `socket`'s writes until the next tick; a batch already held takes these writes too. */
  hold(socket: SmtpSocket): void {
    if (this.held !== undefined) return;
    this.held = socket;
    this.begun++;
    socket.cork();
    process.nextTick(releaseSoon, this);
  }

  /** Lets the held writes go now (before a TLS upgrade, which must see them written). */
  release(): void {
    const socket = this.held;
    if (socket === undefined) return;
    this.held = undefined;
    this.released = this.begun;
    socket.uncork();
  }

  /** The connection ended: what is held never leaves (the socket is destroyed). */
  drop(): void {
    this.held = undefined;
  }

  /** A check that tells, later, whether the batch written last had left by then. */
  leftCheck(): () => boolean {
    const batch = this.begun;
    return () => this.released >= batch;
  }
}

function releaseSoon(batches: TickBatches): void {
  batches.release();
}
