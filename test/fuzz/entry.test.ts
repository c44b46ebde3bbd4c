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
import { checkAnswer, checkRaw } from './checks.js';
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
    expect(target.confirmations().asked).toBeGreaterThan(0);
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

  it('the answer checks catch a bare 5xx, a leaked path or stack, and a 2xx without a principal', () => {
    const rid = '0f8fdc0e-7a3b-4bd4-9a53-6f3a36c1d0a2';
    const headers = { 'x-request-id': rid, 'x-content-type-options': 'nosniff', 'content-type': 'application/json' };
    const post = { method: 'POST', url: '/mcp', body: Buffer.from('{}'), who: 'alice' };
    const ctx = { timeoutMs: 1000, secrets: ['/srv/portcullis'] };
    const rc20 = `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error (ref ${rid})"}}`;
    expect(checkAnswer(post, { status: 500, headers, body: rc20 }, '', ctx)).toEqual([]);
    expect(checkAnswer(post, { status: 503, headers, body: rc20 }, '', ctx)).not.toEqual([]);
    expect(checkAnswer(post, { status: 500, headers, body: '{"error":"boom"}' }, '', ctx)).not.toEqual([]);
    const stack = '{"error":{"code":-32000,"message":"TypeError: x\\n    at run (/srv/portcullis/src/a.ts:1:2)"}}';
    expect(checkAnswer(post, { status: 400, headers, body: stack }, '', ctx).length).toBeGreaterThanOrEqual(3);
    // The same text is no leak when the request carried it (an echoed method name).
    const echo = '{"error":{"code":-32601,"message":"Method not found: /tmp/x"}}';
    expect(checkAnswer(post, { status: 200, headers, body: echo }, 'POST /tmp/x', ctx)).toEqual([]);
    expect(checkAnswer({ ...post, who: undefined }, { status: 200, headers, body: '{}' }, '', ctx)).toEqual([
      'POST /mcp: 200 without a valid principal',
    ]);
    const smuggled = {
      responses: [
        { status: 401, headers, body: '' },
        { status: 200, headers, body: '' },
      ],
      text: '',
      timedOut: false,
    };
    expect(checkRaw(post, smuggled, '', { secrets: [], http1: true })).toEqual([
      'raw POST /mcp: 200 for left-over bytes (response 2)',
    ]);
  });
});
