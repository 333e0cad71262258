import { Duplex } from 'node:stream';
import type { SmtpSocket } from './socket';

/**
 * RFC 8446 5.1 ContentType: change_cipher_spec, alert, handshake, application_data. Every record a
 * TLS server sends starts with one of them; its first one is a handshake (ServerHello) or an alert.
 */
const TLS_RECORD_TYPES: readonly number[] = [0x14, 0x15, 0x16, 0x17];

/**
 * The plain socket as the TLS layer sees it after STARTTLS, checking the server's first byte before
 * TLS reads it. A TLS server speaks only after the ClientHello, and then in records; any other first
 * byte is text the server (or an attacker) sent after the 220 — a response-injection attempt that
 * arrived in a later packet than the 220 itself. `onForeign` is called and nothing is passed on, so
 * the outcome does not depend on how the bytes were split into packets or on what TLS would make of them.
 *
 * The TLS socket then runs over this stream rather than the socket's handle: Node cannot show the
 * bytes a TLS socket reads from a handle.
 *
 * @example
 * ```ts
 * const secure = tls.connect({ ...options, socket: guardFirstRecord(plain, () => conn.fail(injected)) });
 * ```
 */
export function guardFirstRecord(plain: SmtpSocket, onForeign: () => void): Duplex {
  let checked = false;
  const guard = new Duplex({
    read: () => void plain.resume(),
    write: (chunk: Buffer, _encoding, callback) => void plain.write(chunk, callback),
    final: (callback) => void plain.end(callback),
    destroy: (err, callback) => {
      // No listener outlives the session (the connection keeps its own no-op 'error' listener).
      plain.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
      plain.destroy();
      callback(err);
    },
  });
  const onEnd = (): void => void guard.push(null);
  const onGone = (): void => void guard.destroy();
  const onData = (chunk: Buffer): void => {
    if (!checked) {
      checked = true;
      if (!TLS_RECORD_TYPES.includes(chunk[0]!)) {
        plain.pause();
        onForeign();
        return;
      }
    }
    if (!guard.push(chunk)) plain.pause();
  };
  plain.on('data', onData);
  plain.on('end', onEnd);
  // The caller hears the socket's errors itself; TLS only needs to know the stream is gone.
  plain.on('error', onGone);
  plain.on('close', onGone);
  return guard;
}
