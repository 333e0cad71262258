import { type MailStore, sharedServerStore, smtpServerStore } from '../fixtures/mail-store';
import { startPostfix } from '../fixtures/postfix';
import { EXIM, startSharedServer } from '../fixtures/shared-servers';
import { startSmtpServer } from '../fixtures/smtp-server';

/**
 * The servers the cut sweeps run against, started the same way for the tests and the soak:
 * smtp-server in this process, Postfix and Exim through the shared scripts.
 *
 * @example
 * ```ts
 * const running = await startSweepServer('exim'); // null when Exim cannot run here
 * ```
 */

export const SWEEP_SERVERS = ['smtp-server', 'postfix', 'exim'] as const;
export type SweepServerName = (typeof SWEEP_SERVERS)[number];

/** A running sweep server: where it listens, its store, and whether that store is checked once after the runs. */
export interface SweepServer {
  port: number;
  store: MailStore;
  /** A real server stores on its own schedule: its runs are checked together, after the sweep. */
  batch: boolean;
  stop(): Promise<void>;
}

/** Starts `name`, or returns null when it cannot run on this machine (see the fixtures' `missing`). */
export async function startSweepServer(name: SweepServerName): Promise<SweepServer | null> {
  if (name === 'smtp-server') {
    const server = await startSmtpServer();
    return { port: server.port, store: smtpServerStore(server), batch: false, stop: () => server.close() };
  }
  const server = name === 'postfix' ? await startPostfix() : await startSharedServer(EXIM);
  return server && { port: server.port, store: sharedServerStore(server, name), batch: true, stop: () => server.stop() };
}
