/**
 * SECURITY.md B.5, the upstream half of denial of service (D-11, D-14, D-17), against a real
 * gateway whose `http` tools call a real loopback server: every call has a budget (one request,
 * `maxResponseBytes`, `timeoutMs`), a tarpit upstream opens the circuit so later calls fail at once
 * without a connection, and a huge or compressed answer is cut at the cap (RC-17).
 */
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { storedEvents } from '../audit/helpers.js';
import type { TestGateway } from '../helpers/gateway.js';
import { startRestGateway, startUpstream } from '../helpers/upstream.js';
import type { TestUpstream } from '../helpers/upstream.js';
import { postModern } from '../integration/support.js';

const TARPIT = `
  tarpit:
    baseUrl: \${env:UP}/tarpit
    allowPrivateNetwork: true
    allowInsecureHttp: true
    timeoutMs: 300
    circuitBreaker: { failures: 2, cooldownMs: 1500 }
  export:
    baseUrl: \${env:UP}/export
    allowPrivateNetwork: true
    allowInsecureHttp: true
    maxResponseBytes: 65536`;

const TOOLS = `
  - name: tarpit_call
    description: Calls the tarpit upstream.
    roles: [user, admin]
    readOnly: true
    input: { type: object, properties: {} }
    http: { upstream: tarpit, method: GET, path: /x }
  - name: export_all
    description: Asks for a full export of some pages.
    roles: [user, admin]
    readOnly: true
    input: { type: object, properties: { pages: { type: integer, minimum: 1, maximum: 100000 } } }
    http: { upstream: export, method: GET, path: /all, query: { pages: pages } }`;

let up: TestUpstream;
let g: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  g = await startRestGateway(up, { upstreams: TARPIT, tools: TOOLS });
});
afterAll(async () => {
  await g?.close();
  await up?.close();
});
beforeEach(() => up.reset());

async function call(
  name: string,
  args: Record<string, unknown> = {},
): Promise<{ requestId: string; text: string; isError: boolean }> {
  const res = await postModern(g.mcpUrl, await g.token('alice'), 'tools/call', { name, arguments: args });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { result: { content: { text: string }[]; isError?: boolean } };
  return {
    requestId: res.headers.get('x-request-id') ?? '',
    text: body.result.content[0]?.text ?? '',
    isError: body.result.isError === true,
  };
}

function auditReason(requestId: string): string | null | undefined {
  return storedEvents(path.join(g.dir, 'audit.sqlite'), 'rest-1').find(
    (e) => e.requestId === requestId && e.event === 'tool.called',
  )?.reason;
}

describe('B.5 denial of service through upstreams', () => {
  it('D-11 a 1 GB export is one upstream request, cut at the per-call byte budget (RC-17)', async () => {
    up.route('/export/all', { kind: 'huge', bytes: 1024 * 1024 * 1024 });
    const r = await call('export_all', { pages: 1000 });
    expect(r).toMatchObject({ isError: true, text: `The upstream request failed (ref ${r.requestId})` });
    expect(auditReason(r.requestId)).toBe('upstream_too_large');
    const huge = up.lastHuge()!;
    await huge.done;
    expect(huge.cutOff).toBe(true);
    expect(huge.sent).toBeLessThan(64 * 1024 * 1024);
    expect(up.requests).toHaveLength(1);
  });

  it('D-14 a tarpit upstream times out (RC-17), then the circuit opens: no connection until the cooldown', async () => {
    up.route('/tarpit/x', { kind: 'hang' });
    for (let i = 0; i < 2; i += 1) {
      const r = await call('tarpit_call');
      expect(r).toMatchObject({ isError: true, text: `The upstream request timed out (ref ${r.requestId})` });
      expect(auditReason(r.requestId)).toBe('upstream_timeout');
    }
    await up.waitFor(2);
    const connections = up.connections();
    const open = await call('tarpit_call');
    expect(open).toMatchObject({
      isError: true,
      text: `The upstream is unavailable; try again later (ref ${open.requestId})`,
    });
    expect(auditReason(open.requestId)).toBe('upstream_circuit_open');
    expect(up.connections()).toBe(connections);
    expect(up.requests).toHaveLength(2);

    // After the cooldown one probe goes through; the upstream has recovered, so the circuit closes.
    up.route('/tarpit/x', { kind: 'json', body: { ok: true } });
    let probe = await call('tarpit_call');
    const deadline = Date.now() + 20_000;
    while (probe.isError && Date.now() < deadline) {
      expect(auditReason(probe.requestId)).toBe('upstream_circuit_open');
      await new Promise((r) => setTimeout(r, 250));
      probe = await call('tarpit_call');
    }
    expect(probe.isError).toBe(false);
    expect((await call('tarpit_call')).isError).toBe(false);
  });

  it('D-17 a 1 GB body and a gzip bomb are stopped at the cap, never decoded (RC-17)', async () => {
    up.route('/export/all', { kind: 'huge', bytes: 1024 * 1024 * 1024, declareLength: true });
    const declared = await call('export_all');
    expect(declared.isError).toBe(true);
    expect(auditReason(declared.requestId)).toBe('upstream_too_large');

    // A few bytes that would inflate to gigabytes: refused on Content-Encoding, never inflated.
    up.route('/export/all', {
      kind: 'text',
      body: 'H4sIAAAAAAAA/+3BMQEAAADCoPVPbQ0PoAAAAAAAAAAAAAAA',
      headers: { 'content-encoding': 'gzip' },
    });
    const bomb = await call('export_all');
    expect(bomb).toMatchObject({ isError: true, text: `The upstream request failed (ref ${bomb.requestId})` });
    expect(auditReason(bomb.requestId)).toBe('upstream_bad_encoding');
    expect(up.requests.every((r) => r.headers['accept-encoding'] === 'identity')).toBe(true);
  });
});
