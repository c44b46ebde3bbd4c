/**
 * The long fuzz run (`npm run fuzz -- --runs 1000000`): the same inputs and invariants as
 * `entry.test.ts`, driven by several fast-check runners at once against one gateway, with
 * progress, inputs per second, the status distribution and every counterexample (with the seed
 * and path that replay it) printed at the end. Exits 1 when an invariant broke.
 *
 *   --runs N          inputs in total (default 1000000)
 *   --concurrency C   parallel fast-check runners, each with its own seed (default 8)
 *   --seed S          base seed; runner i uses S + i (default: random, printed)
 *   --path P          replay one counterexample: use with its --seed and --concurrency 1
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { fuzzInput } from './arbitraries.js';
import { startFuzzTarget } from './target.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000000' },
    concurrency: { type: 'string', default: '8' },
    seed: { type: 'string' },
    path: { type: 'string' },
  },
});
const runs = Number(values.runs);
const concurrency = Number(values.concurrency);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(concurrency) || concurrency < 1) {
  console.error('usage: npm run fuzz -- [--runs N] [--concurrency C] [--seed S] [--path P]');
  process.exit(2);
}

const fatal: string[] = [];
process.on('uncaughtException', (err) => fatal.push(`uncaught exception: ${err.stack ?? String(err)}`));
process.on('unhandledRejection', (err) => fatal.push(`unhandled rejection: ${String(err)}`));

const target = await startFuzzTarget({ connections: concurrency * 2 });
console.log(
  `fuzzing ${target.tg.mcpUrl}: ${runs} inputs, ${concurrency} runners, seed ${seed}${values.path ? `, path ${values.path}` : ''}`,
);
const started = performance.now();
const globalViolations: string[] = [];
let lastSent = 0;
let lastAt = started;
let draining = false;
const ticker = setInterval(() => {
  const now = performance.now();
  const sent = target.sent();
  console.log(
    `${sent} inputs, ${Math.round(((sent - lastSent) * 1000) / (now - lastAt))}/s now, ` +
      `${Math.round((sent * 1000) / (now - started))}/s overall, ${target.executed()} tool executions, ` +
      `${target.tg.gateway.sessions.size} live sessions, rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`,
  );
  lastSent = sent;
  lastAt = now;
  if (draining) return;
  draining = true;
  target
    .drain()
    .then((v) => globalViolations.push(...v))
    .catch((err: unknown) => globalViolations.push(`drain failed: ${String(err)}`))
    .finally(() => (draining = false));
}, 10_000);

const counterexamples: string[] = [];
await Promise.all(
  Array.from({ length: concurrency }, async (_, i) => {
    const numRuns = Math.floor(runs / concurrency) + (i < runs % concurrency ? 1 : 0);
    if (numRuns === 0) return;
    try {
      await fc.assert(
        fc.asyncProperty(fuzzInput, async (input) => {
          const v = await target.run(input);
          if (v.length > 0) throw new Error(v.join('\n'));
        }),
        { seed: seed + i, numRuns, ...(values.path !== undefined && { path: values.path }) },
      );
    } catch (err) {
      const e = err as Error;
      const cause = e.cause instanceof Error ? `\nviolation: ${e.cause.message}` : '';
      counterexamples.push(`${e.message.slice(0, 6000)}${cause}`);
    }
  }),
);
clearInterval(ticker);
while (draining) await new Promise((r) => setTimeout(r, 50));
const seconds = (performance.now() - started) / 1000;
const sent = target.sent();
globalViolations.push(...(await target.finish()));
await target.close();

console.log('\n=== Portcullis fuzz run ===');
console.log(`inputs sent:      ${sent} (requested ${runs}; shrinking adds some)`);
console.log(`duration:         ${seconds.toFixed(1)} s`);
console.log(`inputs/s:         ${Math.round(sent / seconds)}`);
console.log(
  `tool executions:  ${target.executed()} (counting tools, each matched to a valid principal and its audit event)`,
);
const { asked, confirmed } = target.confirmations();
console.log(
  `confirmations:    ${asked} input_required answers, ${confirmed} destructive runs confirmed by a user's answer`,
);
console.log('status distribution:');
for (const [status, n] of [...target.statuses].sort((a, b) => b[1] - a[1])) {
  console.log(`  ${status.padEnd(16)} ${String(n).padStart(9)}  ${((100 * n) / sent).toFixed(2)}%`);
}
console.log(`counterexamples:  ${counterexamples.length}`);
for (const c of counterexamples) console.log(`---\n${c}`);
console.log(`global violations: ${globalViolations.length + fatal.length}`);
for (const v of [...fatal, ...globalViolations].slice(0, 50)) console.log(`  ${v}`);
process.exit(counterexamples.length + globalViolations.length + fatal.length > 0 ? 1 : 0);
