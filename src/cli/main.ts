#!/usr/bin/env node
/**
 * The `portcullis` executable: builds the command context from the process, runs the command,
 * reports errors (no stack trace unless PORTCULLIS_DEBUG=1) and sets the exit code. The only
 * module that touches `process` state beyond reading the environment (STYLE 11).
 */
import type { CliContext } from './context.js';
import { exitCodeFor, formatError, run } from './run.js';

const debug = process.env.PORTCULLIS_DEBUG === '1';

/** If something still holds the event loop after the command is done, stop waiting after this. */
const EXIT_GRACE_MS = 2_000;

const ctx: CliContext = {
  env: process.env,
  cwd: process.cwd(),
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  onSignal: (handler) => {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
    for (const s of signals) process.on(s, handler);
    return () => {
      for (const s of signals) process.off(s, handler);
    };
  },
};

// A stray rejection in a long-running gateway is logged, not fatal: one bad request must not
// take every session down. Bugs still surface in the log.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`portcullis: unhandled rejection: ${formatError(reason, debug).replace(/^portcullis: /, '')}`);
});

function finish(code: number): void {
  // Let stdout/stderr drain naturally (pipes are asynchronous); force the exit only if
  // some handle keeps the loop alive.
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
}

run(process.argv.slice(2), ctx).then(finish, (err: unknown) => {
  process.stderr.write(formatError(err, debug));
  finish(exitCodeFor(err));
});
