/**
 * Property-based fuzzing of the HTTP + JSON-RPC entry, short run (SECURITY.md C.8 item 5): a few
 * thousand random and mutated inputs over all three protocol eras against a real gateway on
 * loopback. Every answer must keep the response contract (no 5xx but RC-20 with its correlation
 * id, no internals, no 2xx without a valid principal); every tool execution must match a valid
 * principal and its audit event; sessions stay bounded; the process stays healthy. The long run
 * is `npm run fuzz` (test/fuzz/long.ts). Replay a failure with `FUZZ_SEED=<seed> FUZZ_PATH=<path>`.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzInput } from './arbitraries.js';
import { startFuzzTarget } from './target.js';
import type { FuzzTarget } from './target.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
const RUNNERS = 4;
const SEED = process.env.FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED);
const PATH = process.env.FUZZ_PATH;

describe('fuzzing the HTTP + JSON-RPC entry', () => {
  let target: FuzzTarget;
  beforeAll(async () => {
    target = await startFuzzTarget({ connections: RUNNERS * 2 });
  });
  afterAll(async () => {
    await target?.close();
  });

  it(`keeps the response contract, the audit and the principal binding over ${RUNS} inputs (seed ${SEED})`, async () => {
    const runners = PATH === undefined ? RUNNERS : 1;
    await Promise.all(
      Array.from({ length: runners }, (_, i) =>
        fc.assert(
          fc.asyncProperty(fuzzInput, async (input) => {
            const violations = await target.run(input);
            if (violations.length > 0) throw new Error(violations.join('\n'));
          }),
          { seed: SEED + i, numRuns: Math.ceil(RUNS / runners), ...(PATH !== undefined && { path: PATH }) },
        ),
      ),
    );
    expect(await target.finish()).toEqual([]);
    // The oracle was exercised: the counting tools ran, and answers of many kinds came back.
    expect(target.executed()).toBeGreaterThan(0);
    for (const status of ['200', '202', '400', '401', '404'])
      expect(target.statuses.get(status) ?? 0).toBeGreaterThan(0);
  }, 180_000);

  it('the oracle reports a tool execution that no authenticated request accounts for', async () => {
    const registry = (globalThis as Record<symbol, unknown>)[Symbol.for('portcullis.fuzz.executions')] as unknown[];
    registry.push({ tool: 'fuzz_counter', requestId: 'forged', user: 'alice', tenant: 'acme', argTenant: 'acme' });
    const violations = await target.drain(true, 200);
    expect(violations).toEqual([
      'fuzz_counter ran for alice@acme (ref forged) that no request of the fuzzer can account for',
    ]);
  }, 60_000);
});
