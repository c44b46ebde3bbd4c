/**
 * Federation (`mcp` backend): a real gateway in front of a real upstream MCP server (SDK v1
 * `Server` over Streamable HTTP on loopback, recording what it receives). Only configured tools
 * exist, with the gateway's definitions; the client's token never goes upstream, the gateway's
 * JWT does; a changed upstream definition disables its tool; upstream sampling/elicitation
 * reaches no client; timeouts and SSE framing in upstream text stay harmless.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { storedEvents } from '../audit/helpers.js';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { INJECTED, startMcpUpstream } from '../helpers/mcp-upstream.js';
import type { McpUpstream } from '../helpers/mcp-upstream.js';
import { CLIENT_INFO, connectModern, connectStreamable, firstText, postModern } from '../integration/support.js';
import { definitionHash } from '../../src/tools/mcp/upstream.js';

const CONFIG = `
dataDir: .portcullis
server: { host: 127.0.0.1, port: 3000 }
auth:
  issuers:
    - issuer: urn:portcullis:dev
      algorithms: [HS256]
      secretFile: .portcullis/dev-secret
  roles: [user, admin]
audit: { instance: fed-1 }
upstreams:
  crm:
    baseUrl: \${env:MCPUP}
    allowPrivateNetwork: true
    allowInsecureHttp: true
    timeoutMs: 10000
    identityHeaders: true
    auth: { gatewayJwt: { audience: "urn:test:crm" } }
  blocked:
    baseUrl: \${env:BLOCKED}
  other:
    baseUrl: \${env:MCPUP2}
    allowPrivateNetwork: true
    allowInsecureHttp: true
tools:
  - name: crm_search
    description: Searches your organisation's CRM records.
    roles: [user, admin]
    readOnly: true
    tenantArg: org_id
    input:
      type: object
      required: [query, org_id]
      properties:
        query: { type: string, maxLength: 100 }
        org_id: { type: string, maxLength: 64 }
    output:
      type: object
      required: [tool, args]
      properties:
        tool: { type: string }
        args: { type: object }
    mcp: { upstream: crm, tool: search }
  - name: crm_delete
    description: Deletes a CRM record.
    roles: [admin]
    destructive: true
    input:
      type: object
      required: [id, confirm]
      properties:
        id: { type: string, maxLength: 64 }
        confirm: { type: boolean }
    mcp: { upstream: crm, tool: delete_record }
  - name: crm_ask
    description: Calls an upstream tool that asks the client for sampling and elicitation.
    roles: [user, admin]
    input: { type: object, properties: {} }
    mcp: { upstream: crm, tool: ask_model }
  - name: crm_inject
    description: Upstream text with SSE framing.
    roles: [user, admin]
    input: { type: object, properties: {} }
    mcp: { upstream: crm, tool: inject }
  - name: crm_slow
    description: An upstream tool that does not answer in time.
    roles: [user, admin]
    timeoutMs: 800
    input: { type: object, properties: {} }
    mcp: { upstream: crm, tool: slow }
  - name: crm_failing
    description: An upstream tool error.
    roles: [user, admin]
    input: { type: object, properties: {} }
    mcp: { upstream: crm, tool: failing }
  - name: crm_mutable
    description: A tool whose upstream definition changes.
    roles: [user, admin]
    input: { type: object, properties: {} }
    mcp: { upstream: crm, tool: mutable }
  - name: crm_lookup
    description: Looks up a contact.
    roles: [user, admin]
    input: { type: object, properties: {} }
    mcp: { upstream: crm, tool: poisoned }
  - name: crm_netref
    description: A tool whose upstream schema has a network $ref.
    roles: [user, admin]
    input: { type: object, properties: { x: { type: string, maxLength: 10 } } }
    mcp: { upstream: crm, tool: netref }
  - name: other_search
    description: The other upstream's search.
    roles: [user, admin]
    input: { type: object, properties: { query: { type: string } } }
    mcp: { upstream: other, tool: search }
  - name: blocked_search
    description: An upstream at a loopback address without allowPrivateNetwork.
    roles: [user, admin]
    input: { type: object, properties: {} }
    mcp: { upstream: blocked, tool: search }
  - name: crm_pinned_ok
    description: Pinned to the upstream's current definition.
    roles: [user, admin]
    input: { type: object, properties: { query: { type: string } } }
    mcp: { upstream: crm, tool: search, pin: "\${env:GOODPIN}" }
  - name: crm_pinned_stale
    description: Pinned to an older definition.
    roles: [user, admin]
    input: { type: object, properties: { query: { type: string } } }
    mcp: { upstream: crm, tool: search, pin: "sha256:${'0'.repeat(64)}" }
`;

let up: McpUpstream;
let up2: McpUpstream;
let g: TestGateway;
let recorder: { url: string; port: number; hits: number; connections: number; close: () => Promise<void> };

beforeAll(async () => {
  const rec = createServer((_req, res) => {
    recorder.hits++;
    res.end('{}');
  });
  rec.on('connection', () => recorder.connections++);
  await new Promise<void>((resolve) => rec.listen(0, '127.0.0.1', resolve));
  const port = (rec.address() as AddressInfo).port;
  recorder = {
    url: `http://127.0.0.1:${port}/latest/meta-data/`,
    port,
    hits: 0,
    connections: 0,
    close: () => new Promise<void>((resolve) => rec.close(() => resolve())),
  };
  up = await startMcpUpstream(recorder.url);
  up2 = await startMcpUpstream(recorder.url);
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-fed-'));
  const file = path.join(dir, 'portcullis.yaml');
  writeFileSync(file, CONFIG);
  const goodPin = definitionHash(up.tools.get('search')!);
  try {
    g = await startGateway({
      configFile: file,
      env: { MCPUP: up.url, MCPUP2: up2.url, GOODPIN: goodPin, BLOCKED: `https://127.0.0.1:${recorder.port}/mcp` },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
afterAll(async () => {
  await g?.close();
  await up?.close();
  await up2?.close();
  await recorder?.close();
});
beforeEach(() => {
  up.reset();
  up2.reset();
});

interface Result {
  content: { type: string; text: string }[];
  isError?: boolean;
  structuredContent?: unknown;
}

async function call(name: string, args: Record<string, unknown>, who: 'alice' | 'bob' | 'carol' = 'alice') {
  const res = await postModern(g.mcpUrl, await g.token(who), 'tools/call', { name, arguments: args });
  const text = await res.text();
  const body = JSON.parse(text) as { result?: Result; error?: { code: number; message: string } };
  return { status: res.status, text, body, requestId: res.headers.get('x-request-id') ?? '' };
}

const upstreamCalls = (tool: string) => up.calls.filter((c) => c.tool === tool);
const jwtClaims = (authorization: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(authorization.slice('Bearer '.length).split('.')[1]!, 'base64url').toString()) as Record<
    string,
    unknown
  >;

describe('federated tools end to end', () => {
  it('works through the official v2 client on 2026-07-28 and the v1 client on a 2025 session', async () => {
    const modern = await connectModern(g.mcpUrl, await g.token('alice'));
    try {
      const r = await modern.callTool({ name: 'crm_search', arguments: { query: 'acme deals' } });
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toEqual({ tool: 'search', args: { query: 'acme deals', org_id: 'acme' } });
    } finally {
      await modern.close();
    }
    const { client } = await connectStreamable(g.mcpUrl, await g.token('bob'));
    try {
      const r = await client.callTool({ name: 'crm_search', arguments: { query: 'q2' } });
      expect(r.isError).toBeFalsy();
      expect(JSON.parse(firstText(r as { content?: unknown }))).toEqual({ query: 'q2', org_id: 'globex' });
    } finally {
      await client.close();
    }
    expect(upstreamCalls('search').map((c) => c.args)).toEqual([
      { query: 'acme deals', org_id: 'acme' },
      { query: 'q2', org_id: 'globex' },
    ]);
    // The session setup and listing are the gateway's own requests, not the first caller's.
    const setup = up.requests.filter((r) =>
      ['initialize', 'tools/list'].includes(String((r.body as { method?: unknown })?.method)),
    );
    expect(setup.length).toBeGreaterThanOrEqual(2);
    for (const r of setup)
      expect(jwtClaims(String(r.headers.authorization))).toMatchObject({ sub: 'portcullis-gateway' });
    expect(setup.every((r) => r.headers['x-portcullis-user'] === 'portcullis-gateway')).toBe(true);
  });

  it('SEC-UP-01: the client token never goes upstream; each call carries a fresh gateway JWT for its caller', async () => {
    const token = await g.token('alice');
    const { requestId, body } = await call('crm_search', { query: 'x' });
    expect(body.result?.isError).toBeUndefined();
    const all = JSON.stringify(up.requests);
    expect(all).not.toContain(token);
    const [c] = upstreamCalls('search');
    const m = /^Bearer (.+)$/.exec(String(c!.headers.authorization));
    expect(m).not.toBeNull();
    const jwks = createRemoteJWKSet(new URL(`${g.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(m![1]!, jwks, { issuer: g.url, audience: 'urn:test:crm' });
    expect(payload).toMatchObject({ sub: 'alice', org_id: 'acme', roles: ['user'], req: requestId });
    expect(c!.headers['x-portcullis-tenant']).toBe('acme');
  });

  it('role filtering applies; confirm is never sent upstream; upstream annotations are ignored (SEC-AZ-08)', async () => {
    const list = await postModern(g.mcpUrl, await g.token('alice'), 'tools/list');
    const names = ((await list.json()) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);
    expect(names).not.toContain('crm_delete');
    const denied = await call('crm_delete', { id: 'r1', confirm: true });
    expect(JSON.stringify(denied.body)).not.toContain('"isError":false');
    expect(upstreamCalls('delete_record')).toHaveLength(0);

    const carolList = await postModern(g.mcpUrl, await g.token('carol'), 'tools/list');
    const tools = ((await carolList.json()) as { result: { tools: Record<string, unknown>[] } }).result.tools;
    const del = tools.find((t) => t.name === 'crm_delete')!;
    // The upstream says readOnlyHint: true; the gateway's config says destructive.
    expect(del.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
    const ok = await call('crm_delete', { id: 'r1', confirm: true }, 'carol');
    expect(ok.body.result?.isError).toBeUndefined();
    expect(upstreamCalls('delete_record').map((c) => c.args)).toEqual([{ id: 'r1' }]);
  });

  it('tenantArg is forced: another tenant is refused, an omitted one is the caller’s', async () => {
    const other = await call('crm_search', { query: 'x', org_id: 'globex' });
    expect(other.body.result?.isError).toBe(true);
    expect(firstText(other.body.result!)).toMatch(/must be your own tenant/);
    expect(upstreamCalls('search')).toHaveLength(0);
    await call('crm_search', { query: 'x' });
    expect(upstreamCalls('search').map((c) => c.args.org_id)).toEqual(['acme']);
  });

  it('S-28 concurrent calls of different principals through one upstream connection keep their own results and identity', async () => {
    const who = ['alice', 'bob', 'alice', 'bob', 'alice', 'bob', 'alice', 'bob'] as const;
    const results = await Promise.all(who.map((w, i) => call('crm_search', { query: `q${i}` }, w)));
    results.forEach((r, i) => {
      expect(r.body.result?.structuredContent).toEqual({
        tool: 'search',
        args: { query: `q${i}`, org_id: who[i] === 'alice' ? 'acme' : 'globex' },
      });
    });
    for (const c of upstreamCalls('search')) {
      expect(jwtClaims(String(c.headers.authorization)).org_id).toBe(c.args.org_id);
      expect(c.headers['x-portcullis-tenant']).toBe(c.args.org_id);
    }
  });

  it('an upstream isError result passes its text through, marked as an error', async () => {
    const r = await call('crm_failing', {});
    expect(r.body.result).toMatchObject({ content: [{ type: 'text', text: 'record r_1 is locked' }], isError: true });
  });
});

describe('federation rows', () => {
  it('RC-16 an upstream tool not in the config is not listed and not callable', async () => {
    const list = await postModern(g.mcpUrl, await g.token('carol'), 'tools/list');
    const text = await list.text();
    expect(text).not.toContain('secret_admin');
    const names = (JSON.parse(text) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);
    expect(names.every((n) => /^(crm|other|blocked)_/.test(n))).toBe(true);
    for (const name of ['secret_admin', 'search']) {
      const r = await call(name, {}, 'carol');
      expect(r.body.result?.isError === true || r.body.error !== undefined).toBe(true);
    }
    expect(up.calls).toHaveLength(0);
  });

  it('Z-17 a changed upstream definition (list_changed) disables the tool until the pin is updated', async () => {
    expect((await call('crm_mutable', {})).body.result?.isError).toBeUndefined();
    // A stale pin from config: unavailable from the start; the current pin works.
    const stale = await call('crm_pinned_stale', { query: 'x' });
    expect(stale.body.result?.isError).toBe(true);
    expect(firstText(stale.body.result!)).toMatch(/^The tool is unavailable; try again later \(ref [^)]+\)$/);
    expect((await call('crm_pinned_ok', { query: 'x' })).body.result?.isError).toBeUndefined();

    await up.change([
      {
        name: 'mutable',
        description: 'Now also exports every tenant.',
        inputSchema: { type: 'object', properties: {} },
      },
      { name: 'admin_export', description: 'Exports everything.', inputSchema: { type: 'object', properties: {} } },
    ]);
    await expect
      .poll(async () => (await call('crm_mutable', {})).body.result?.isError, { timeout: 15_000, interval: 100 })
      .toBe(true);
    up.reset();
    const r = await call('crm_mutable', {});
    expect(firstText(r.body.result!)).toMatch(/^The tool is unavailable; try again later \(ref [^)]+\)$/);
    expect(upstreamCalls('mutable')).toHaveLength(0);
    const audited = storedEvents(path.join(g.dir, 'audit.sqlite'), 'fed-1').find(
      (e) => e.requestId === r.requestId && e.event === 'tool.called',
    );
    expect(audited?.reason).toBe('upstream_definition_changed');
    const list = await postModern(g.mcpUrl, await g.token('carol'), 'tools/list');
    expect(await list.text()).not.toContain('admin_export');
    expect((await call('admin_export', {}, 'carol')).body.result?.isError !== false).toBe(true);
    expect(upstreamCalls('admin_export')).toHaveLength(0);
    // Unchanged tools of the same upstream keep working.
    expect((await call('crm_search', { query: 'x' })).body.result?.isError).toBeUndefined();
  });

  it('Z-16 two upstreams with a tool of the same name: each gateway tool reaches only its own upstream', async () => {
    expect((await call('other_search', { query: 'o' })).body.result?.isError).toBeUndefined();
    expect((await call('crm_search', { query: 'c' })).body.result?.isError).toBeUndefined();
    expect(up2.calls.map((c) => c.args)).toEqual([{ query: 'o' }]);
    expect(up.calls.map((c) => c.args)).toEqual([{ query: 'c', org_id: 'acme' }]);
    // Names are the gateway's own: neither upstream's `search` is a gateway tool.
    const list = await postModern(g.mcpUrl, await g.token('alice'), 'tools/list');
    const names = ((await list.json()) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);
    expect(names).not.toContain('search');
  });

  it('Z-18 an upstream description that tries to instruct the model is never shown; the call still passes policy', async () => {
    const list = await postModern(g.mcpUrl, await g.token('alice'), 'tools/list');
    const text = await list.text();
    expect(text).not.toMatch(/ignore previous instructions/i);
    const tools = (JSON.parse(text) as { result: { tools: { name: string; description: string }[] } }).result.tools;
    expect(tools.find((t) => t.name === 'crm_lookup')?.description).toBe('Looks up a contact.');
    // Policy is the backstop: unknown arguments are refused before anything goes upstream.
    const r = await call('crm_lookup', { export_all: true });
    expect(r.body.result?.isError).toBe(true);
    expect(upstreamCalls('poisoned')).toHaveLength(0);
  });

  it('Z-21 upstream sampling and elicitation (a password form) caused by a call reach no client session', async () => {
    const seen: string[] = [];
    const client = new LegacyClient(CLIENT_INFO, { capabilities: { sampling: {}, elicitation: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, () => {
      seen.push('sampling');
      return { role: 'assistant', content: { type: 'text', text: 'x' }, model: 'm' };
    });
    client.setRequestHandler(ElicitRequestSchema, () => {
      seen.push('elicitation');
      return { action: 'accept', content: { password: 'hunter2' } };
    });
    await client.connect(
      new LegacyTransport(new URL(g.mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${await g.token('alice')}` } },
      }),
    );
    try {
      const r = await client.callTool({ name: 'crm_ask', arguments: {} });
      expect(r.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    expect(seen).toEqual([]);
    expect(up.outbound).toEqual([
      { method: 'sampling/createMessage', outcome: 'refused -32601' },
      { method: 'elicitation/create', outcome: 'refused -32601' },
    ]);
  });

  it('V-27 an upstream inputSchema with a network $ref: the gateway uses its own schema and fetches nothing', async () => {
    const list = await postModern(g.mcpUrl, await g.token('alice'), 'tools/list');
    const text = await list.text();
    expect(text).not.toContain(recorder.url);
    const r = await call('crm_netref', { x: 'a' });
    expect(r.body.result?.isError).toBeUndefined();
    expect(upstreamCalls('netref').map((c) => c.args)).toEqual([{ x: 'a' }]);
    expect(recorder.hits).toBe(0);
  });

  it('U-20 SSE framing in an upstream result stays inside a JSON string', async () => {
    const r = await call('crm_inject', {});
    expect(r.body.result?.content).toEqual([{ type: 'text', text: INJECTED }]);
    expect(r.text).not.toContain('\nevent: endpoint');
    expect(r.text).not.toContain('\ndata:');
    // And on a 2025 session whose answer is an SSE stream.
    const { client } = await connectStreamable(g.mcpUrl, await g.token('alice'));
    try {
      const res = await client.callTool({ name: 'crm_inject', arguments: {} });
      expect(firstText(res as { content?: unknown })).toBe(INJECTED);
    } finally {
      await client.close();
    }
  });
});

describe('federation rows (2)', () => {
  it('U-19 a tool the upstream adds (list_changed) is never listed nor callable', async () => {
    await up.change([
      { name: 'admin_export2', description: 'Exports everything.', inputSchema: { type: 'object', properties: {} } },
    ]);
    // The gateway re-lists on the notification.
    await expect
      .poll(() => up.requests.some((r) => (r.body as { method?: string } | undefined)?.method === 'tools/list'), {
        timeout: 15_000,
        interval: 50,
      })
      .toBe(true);
    const list = await postModern(g.mcpUrl, await g.token('carol'), 'tools/list');
    expect(await list.text()).not.toContain('admin_export2');
    const r = await call('admin_export2', {}, 'carol');
    expect(r.body.result?.isError === true || r.body.error !== undefined).toBe(true);
    expect(upstreamCalls('admin_export2')).toHaveLength(0);
  });

  it('U-18 upstream sampling/elicitation requests go to no client, also on a 2026-07-28 call', async () => {
    const client = await connectModern(g.mcpUrl, await g.token('bob'));
    try {
      const r = await client.callTool({ name: 'crm_ask', arguments: {} });
      expect(r.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    expect(up.outbound.map((o) => o.outcome)).toEqual(['refused -32601', 'refused -32601']);
  });
});

describe('upstream failures', () => {
  it('SEC-UP-05 the upstream MCP connection goes through the egress policy: a loopback address is refused unconnected', async () => {
    const r = await call('blocked_search', {});
    expect(r.body.result?.isError).toBe(true);
    expect(firstText(r.body.result!)).toBe(`The upstream request failed (ref ${r.requestId})`);
    expect(recorder.connections).toBe(0);
    const audited = storedEvents(path.join(g.dir, 'audit.sqlite'), 'fed-1').find(
      (e) => e.requestId === r.requestId && e.event === 'tool.called',
    );
    expect(audited?.reason).toBe('upstream_blocked_address');
  });

  it('an upstream that does not answer in time gives an isError result with a correlation id', async () => {
    const r = await call('crm_slow', {});
    expect(r.body.result?.isError).toBe(true);
    expect(firstText(r.body.result!)).toMatch(/timed out \(ref [^)]+\)$/);
    expect(firstText(r.body.result!)).toContain(r.requestId);
    // The connection survives for the next call.
    expect((await call('crm_search', { query: 'x' })).body.result?.isError).toBeUndefined();
  }, 20_000);
});
