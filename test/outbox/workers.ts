import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * Outbox workers in processes of their own (`worker-child.ts`), for the kill tests: started,
 * killed with SIGKILL, restarted, and stopped gracefully at the end.
 *
 * @example
 * ```ts
 * const workers = new WorkerProcesses({ redisPort, name, smtpPort, lockMs: 2_000, maxConnections: 4 });
 * await workers.start(3);
 * await workers.kill(0);
 * await workers.restart(0);
 * await workers.stopAll();
 * ```
 */

const CHILD = join(__dirname, 'worker-child.ts');
/** A worker that is not ready after this long is stuck (tsx compiles it in about a second). */
const READY_TIMEOUT_MS = 30_000;

/** What each worker process is given. */
export interface WorkerConfig {
  redisPort: number;
  name: string;
  smtpPort: number;
  lockMs: number;
  maxConnections: number;
}

export class WorkerProcesses {
  private readonly slots: (ChildProcess | undefined)[] = [];

  constructor(private readonly config: WorkerConfig) {}

  /** Starts `count` workers and waits until each has reached Redis. */
  async start(count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, (_, slot) => this.restart(slot)));
  }

  /** Starts the worker of `slot` (again) and waits until it has reached Redis. */
  async restart(slot: number): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(this.config)], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.slots[slot] = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`worker ${slot} was not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('ready\n')) {
          clearTimeout(timer);
          // Its outcome lines are not needed: Redis and the server's store are the judges.
          child.stdout!.removeAllListeners('data').resume();
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`worker ${slot} exited (${code ?? signal}) before it was ready`));
      });
    });
  }

  /** SIGKILL: the worker dies wherever it is, with its jobs, its locks and its connections. */
  async kill(slot: number): Promise<void> {
    await this.signal(slot, 'SIGKILL');
  }

  /** SIGTERM to every worker: each stops fetching, finishes what it holds and exits. */
  async stopAll(): Promise<void> {
    await Promise.all(this.slots.map((_, slot) => this.signal(slot, 'SIGTERM')));
  }

  private async signal(slot: number, signal: NodeJS.Signals): Promise<void> {
    const child = this.slots[slot];
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
    this.slots[slot] = undefined;
  }
}
