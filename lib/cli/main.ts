#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, USAGE, UsageError, parseCommandLine } from './args';
import { ExitCode, exitCodeFor } from './exit-codes';
import { type CliIo, InputError } from './io';
import { DataError } from './mails';
import { runProbe } from './probe';
import { reportError } from './report';
import { sanitize } from '../reply/sanitize';
import { runSend } from './send';

/**
 * The `rx-smtp` command line: parses `argv` (without `node` and the script), runs the command and
 * resolves with its exit status (sysexits.h, see {@link ExitCode}). Every failure is one line on
 * standard error; nothing is thrown.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['probe', 'smtp://localhost:2525'], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
 * ```
 */
export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  try {
    const command: Command = parseCommandLine(argv, io.env);
    switch (command.command) {
      case 'help':
        io.stdout.write(USAGE);
        return ExitCode.Ok;
      case 'version':
        io.stdout.write(`rx-smtp ${version()}\n`);
        return ExitCode.Ok;
      case 'send':
        return await runSend(command, io);
      case 'probe':
        return await runProbe(command, io);
      case 'outbox-add':
      case 'outbox-work':
      case 'outbox-status':
      case 'outbox-uncertain':
        // Loaded here alone: BullMQ is needed only by those who use the outbox.
        return await (await import('./outbox.js')).runOutbox(command, io);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`rx-smtp: usage error: ${error.message} (rx-smtp --help lists the options)\n`);
      return ExitCode.Usage;
    }
    if (error instanceof DataError) {
      // Every bad line of a --mails file, each on its own line, so all can be fixed at once.
      for (const problem of error.problems) io.stderr.write(`rx-smtp: ${sanitize(problem, 1024)}\n`);
      return ExitCode.DataErr;
    }
    reportError(io, error);
    if (error instanceof InputError) return ExitCode.NoInput;
    return exitCodeFor(error, false);
  }
}

/** The package's version; main.js sits two levels below package.json both in lib/ and in dist/. */
function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

if (require.main === module) {
  const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
  void main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
