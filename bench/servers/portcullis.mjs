/* global process, setTimeout */
// Starts the built gateway exactly as `portcullis start -c FILE -p PORT` does (dist/cli/run.js,
// the code behind dist/cli/main.js), under a command line of its own so that a stray
// `pkill -f "main.js start"` elsewhere on the machine cannot stop a benchmark run.
import { run } from '../../dist/cli/run.js';

const [file, port] = process.argv.slice(2);
const ctx = {
  env: process.env,
  cwd: process.cwd(),
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  onSignal: (handler) => {
    for (const s of ['SIGINT', 'SIGTERM']) process.on(s, handler);
    return () => {
      for (const s of ['SIGINT', 'SIGTERM']) process.off(s, handler);
    };
  },
};
process.on('unhandledRejection', (reason) => process.stderr.write(`portcullis: unhandled rejection: ${reason}\n`));
const code = await run(['start', '-c', file, '-p', String(port)], ctx).catch((err) => {
  process.stderr.write(`portcullis: ${err?.message ?? err}\n`);
  return 1;
});
process.exitCode = code;
setTimeout(() => process.exit(code), 2000).unref();
