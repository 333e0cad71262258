import type * as net from 'node:net';

/**
 * What the raw-socket ceilings share: each complete reply's last line (continuation lines skipped),
 * read off the socket with no parsing beyond the line end. Just enough for a client that does
 * not check what it is told, which is what a ceiling is.
 *
 * @example
 * ```ts
 * onFinalLines(socket, (line) => line.startsWith('354') && socket.write(content));
 * ```
 */
export function onFinalLines(socket: net.Socket, onLine: (line: string) => void): void {
  let pending = '';
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    let lf: number;
    while ((lf = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, lf);
      pending = pending.slice(lf + 1);
      if (line[3] !== '-') onLine(line);
    }
  });
}
