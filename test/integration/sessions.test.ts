/**
 * MCP 2025 Streamable HTTP sessions end to end: the official v1 client for the role and tenant
 * checks, then raw requests for session binding (SEC-SES-02, S-01…S-12, RC-7, RC-8): a session
 * belongs to the principal `(iss, sub, tenant)` that opened it, and anyone else gets the same
 * 404 as for an id that never existed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, ListToolsResultSchema } from '@modelcontextprotocol/core';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { connectStreamable, firstText, randomSessionId, SseReader } from './support.js';

const LEGACY_VERSION = '2025-11-25';

let gw: TestGateway;
let aliceClient: Client;
let aliceTransport: StreamableHTTPClientTransport;
/** The session the v1 client opened for alice. */
let aliceSession: string;
let carolClient: Client;
let bobClient: Client;

beforeAll(async () => {
  gw = await startGateway();
  ({ client: aliceClient, transport: aliceTransport } = await connectStreamable(gw.mcpUrl, await gw.token('alice')));
  ({ client: carolClient } = await connectStreamable(gw.mcpUrl, await gw.token('carol')));
  ({ client: bobClient } = await connectStreamable(gw.mcpUrl, await gw.token('bob')));
  aliceSession = aliceTransport.sessionId ?? '';
  expect(aliceSession).toMatch(/^[\x21-\x7e]+$/);
});

afterAll(async () => {
  await aliceClient?.close();
  await carolClient?.close();
  await bobClient?.close();
  await gw?.close();
});

/** Headers of a request on an existing 2025 session. */
function sessionHeaders(token: string | undefined, sessionId: string | undefined): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': LEGACY_VERSION,
    ...(token !== undefined && { authorization: `Bearer ${token}` }),
    ...(sessionId !== undefined && { 'mcp-session-id': sessionId }),
  };
}

/** `tools/list` on a session, as raw fetch. */
function listOn(url: string, token: string | undefined, sessionId: string | undefined, id = 7): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: sessionHeaders(token, sessionId),
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list', params: {} }),
  });
}

function deleteSession(url: string, token: string, sessionId: string): Promise<Response> {
  return fetch(url, { method: 'DELETE', headers: sessionHeaders(token, sessionId) });
}

/** Opens a session with a raw `initialize` + `notifications/initialized`; answers the raw initialize response. */
async function initialize(url: string, token: string): Promise<Response> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: LEGACY_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  const sessionId = res.headers.get('mcp-session-id');
  if (res.status === 200 && sessionId !== null) {
    const ack = await fetch(url, {
      method: 'POST',
      headers: sessionHeaders(token, sessionId),
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    expect(ack.status).toBe(202);
  }
  return res;
}

async function openSession(url: string, token: string): Promise<string> {
  const res = await initialize(url, token);
  expect(res.status).toBe(200);
  const id = res.headers.get('mcp-session-id');
  expect(id).toMatch(/^[\x21-\x7e]+$/);
  return id!;
}

describe('the v1 client over Streamable HTTP applies the same policy', () => {
  it('alice sees get_user_profile but not deprovision_tenant; carol sees both', async () => {
    const aliceTools = ListToolsResultSchema.parse(await aliceClient.listTools()).tools.map((t) => t.name);
    const carolTools = ListToolsResultSchema.parse(await carolClient.listTools()).tools.map((t) => t.name);
    expect(aliceTools).toContain('get_user_profile');
    expect(aliceTools).not.toContain('deprovision_tenant');
    expect(carolTools).toEqual(expect.arrayContaining(['get_user_profile', 'deprovision_tenant']));
  });

  it("alice reads her own profile but not carol's", async () => {
    const own = CallToolResultSchema.parse(
      await aliceClient.callTool({ name: 'get_user_profile', arguments: { userId: 'alice' } }),
    );
    expect(own.structuredContent).toMatchObject({ id: 'alice', tenantId: 'acme' });
    const other = CallToolResultSchema.parse(
      await aliceClient.callTool({ name: 'get_user_profile', arguments: { userId: 'carol' } }),
    );
    expect(other.isError).toBe(true);
  });

  it("bob (globex) cannot list acme's invoices: isError, tenant mismatch", async () => {
    const r = CallToolResultSchema.parse(
      await bobClient.callTool({ name: 'list_invoices', arguments: { tenantId: 'acme' } }),
    );
    expect(r.isError).toBe(true);
    expect(firstText(r)).toMatch(/must be your own tenant/);
  });

  it('carol cannot deprovision globex, nor acme without confirmation', async () => {
    const other = CallToolResultSchema.parse(
      await carolClient.callTool({ name: 'deprovision_tenant', arguments: { tenantId: 'globex', confirm: true } }),
    );
    expect(other.isError).toBe(true);
    const unconfirmed = CallToolResultSchema.parse(
      await carolClient.callTool({ name: 'deprovision_tenant', arguments: { tenantId: 'acme', confirm: false } }),
    );
    expect(unconfirmed.isError).toBe(true);
    expect(firstText(unconfirmed)).toMatch(/confirmation/);
  });

  it('ping on a 2025 session answers exactly {}', async () => {
    expect(await aliceClient.ping()).toEqual({});
  });

  it('a hidden tool and an unknown tool reject with the same -32602 error', async () => {
    const errOf = (name: string): Promise<unknown> =>
      aliceClient.callTool({ name, arguments: {} }).then(
        () => undefined,
        (e: unknown) => e,
      );
    const hidden = (await errOf('refund_payment')) as { code?: unknown; message?: unknown };
    const unknown = (await errOf('no_such_tool')) as { code?: unknown; message?: unknown };
    expect(hidden.code).toBe(-32602);
    expect(unknown.code).toBe(-32602);
    expect(hidden.message).toBe(unknown.message);
  });
});

describe('a session is bound to the principal that opened it', () => {
  it("bob presenting alice's session id gets 404 -32001, byte-identical to an unknown session id (S-01)", async () => {
    const bob = await gw.token('bob');
    const hijack = await listOn(gw.mcpUrl, bob, aliceSession);
    const unknown = await listOn(gw.mcpUrl, bob, randomSessionId());
    const unknownForAlice = await listOn(gw.mcpUrl, await gw.token('alice'), randomSessionId());
    expect(hijack.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(unknownForAlice.status).toBe(404);
    const body = await hijack.text();
    expect(JSON.parse(body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });
    expect(body).toBe(await unknown.text());
    expect(body).toBe(await unknownForAlice.text());
    expect(hijack.headers.get('mcp-session-id')).toBeNull();
  });

  it("alice's session keeps working after the hijack attempt", async () => {
    const tools = await aliceClient.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('get_user_profile');
    const raw = await listOn(gw.mcpUrl, await gw.token('alice'), aliceSession);
    expect(raw.status).toBe(200);
  });

  it('a request without Mcp-Session-Id gets 400 with id null (RC-7)', async () => {
    const res = await listOn(gw.mcpUrl, await gw.token('alice'), undefined);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: expect.any(Number) } });
  });

  it("alice's session id with no token gets 401, not the session (S-02)", async () => {
    const res = await listOn(gw.mcpUrl, undefined, aliceSession);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it('DELETE by another principal gets 404; DELETE by the owner gets 200, then the id is dead (S-11)', async () => {
    const alice = await gw.token('alice');
    const bob = await gw.token('bob');
    const id = await openSession(gw.mcpUrl, alice);

    const byBob = await deleteSession(gw.mcpUrl, bob, id);
    expect(byBob.status).toBe(404);
    expect(await byBob.json()).toMatchObject({ error: { code: -32001 } });
    expect((await listOn(gw.mcpUrl, alice, id)).status).toBe(200);

    const byAlice = await deleteSession(gw.mcpUrl, alice, id);
    expect(byAlice.status).toBe(200);
    expect((await listOn(gw.mcpUrl, alice, id)).status).toBe(404);
    expect((await deleteSession(gw.mcpUrl, alice, id)).status).toBe(404);
  });

  it('a refreshed token for the same principal (new iat and jti) keeps working on the session', async () => {
    const id = await openSession(gw.mcpUrl, await gw.token('alice', { jti: 'first' }));
    const refreshed = await gw.token('alice', { jti: 'refreshed', iat: Math.floor(Date.now() / 1000) - 5 });
    const res = await listOn(gw.mcpUrl, refreshed, id);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { tools: { name: string }[] } };
    expect(body.result.tools.map((t) => t.name)).toContain('get_user_profile');
  });

  it('the same sub with a different org claim gets 404 (S-04)', async () => {
    const id = await openSession(gw.mcpUrl, await gw.token('alice'));
    const switched = await gw.token('alice', { org_id: 'globex' });
    const res = await listOn(gw.mcpUrl, switched, id);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(await (await listOn(gw.mcpUrl, switched, randomSessionId())).text());
  });

  it('initialize carrying a session id is refused and never adopts it (S-05, S-12)', async () => {
    const alice = await gw.token('alice');
    const chosen = randomSessionId();
    const res = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: { ...sessionHeaders(alice, chosen) },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: LEGACY_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('mcp-session-id')).toBeNull();
    expect((await listOn(gw.mcpUrl, alice, chosen)).status).toBe(404);
  });
});

describe('the standalone GET stream of a session', () => {
  it("GET with alice's session id and bob's token gets 404 (S-14)", async () => {
    const id = await openSession(gw.mcpUrl, await gw.token('alice'));
    const res = await fetch(gw.mcpUrl, {
      headers: { ...sessionHeaders(await gw.token('bob'), id), accept: 'text/event-stream' },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: -32001 } });
  });

  it('a second GET stream on the same session gets 409 (S-25)', async () => {
    const alice = await gw.token('alice');
    const id = await openSession(gw.mcpUrl, alice);
    const headers = { ...sessionHeaders(alice, id), accept: 'text/event-stream' };
    const first = await fetch(gw.mcpUrl, { headers });
    try {
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const second = await fetch(gw.mcpUrl, { headers });
      expect(second.status).toBe(409);
      await second.body?.cancel();
    } finally {
      await first.body?.cancel();
    }
  });

  it("DELETE by the owner ends the session's open GET stream", async () => {
    const alice = await gw.token('alice');
    const id = await openSession(gw.mcpUrl, alice);
    const stream = await fetch(gw.mcpUrl, { headers: { ...sessionHeaders(alice, id), accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    const reader = new SseReader(stream);
    try {
      expect((await deleteSession(gw.mcpUrl, alice, id)).status).toBe(200);
      await expect(reader.next()).rejects.toThrow('SSE stream ended');
    } finally {
      await reader.close();
    }
  });

  it('a GET without Accept: text/event-stream gets 406', async () => {
    const alice = await gw.token('alice');
    const id = await openSession(gw.mcpUrl, alice);
    const res = await fetch(gw.mcpUrl, { headers: { ...sessionHeaders(alice, id), accept: 'application/json' } });
    expect(res.status).toBe(406);
  });

  it('DELETE without Mcp-Session-Id gets 400', async () => {
    const res = await fetch(gw.mcpUrl, {
      method: 'DELETE',
      headers: sessionHeaders(await gw.token('alice'), undefined),
    });
    expect(res.status).toBe(400);
  });
});

describe('the negotiated protocol version is fixed for the session', () => {
  it('a different MCP-Protocol-Version header on an established session gets 400 (S-21)', async () => {
    const alice = await gw.token('alice');
    const id = await openSession(gw.mcpUrl, alice);
    const res = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: { ...sessionHeaders(alice, id), 'mcp-protocol-version': '2025-03-26' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(res.status).toBe(400);
  });

  it('a batch on an established session is still refused with -32600 (S-21)', async () => {
    const alice = await gw.token('alice');
    const id = await openSession(gw.mcpUrl, alice);
    const one = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
    const res = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: sessionHeaders(alice, id),
      body: JSON.stringify([one, { ...one, id: 2 }]),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ id: null, error: { code: -32600 } });
  });
});

describe('idle sessions expire', () => {
  let clocked: TestGateway;
  let offsetMs = 0;
  const clock = (): number => Date.now() + offsetMs;
  /** A token valid at the gateway's (fake) current time. */
  const tokenAt = (name: 'alice' | 'bob'): Promise<string> => {
    const t = Math.floor(clock() / 1000);
    return clocked.token(name, { iat: t, exp: t + 900 });
  };

  beforeAll(async () => {
    clocked = await startGateway({ now: clock });
  });

  afterAll(async () => {
    await clocked?.close();
  });

  it('after the idle timeout the owner gets the same 404 as for an unknown id', async () => {
    const id = await openSession(clocked.mcpUrl, await tokenAt('alice'));
    offsetMs += 10 * 60 * 1000;
    expect((await listOn(clocked.mcpUrl, await tokenAt('alice'), id)).status).toBe(200);
    offsetMs += 31 * 60 * 1000;
    const fresh = await tokenAt('alice');
    const expired = await listOn(clocked.mcpUrl, fresh, id);
    expect(expired.status).toBe(404);
    expect(await expired.text()).toBe(await (await listOn(clocked.mcpUrl, fresh, randomSessionId())).text());
  });
});

describe('per-principal session cap', () => {
  let capped: TestGateway;

  beforeAll(async () => {
    capped = await startGateway({ sessions: { maxPerPrincipal: 2 } });
  });

  afterAll(async () => {
    await capped?.close();
  });

  it('a third session for the same principal gets 429 with Retry-After; others are unaffected', async () => {
    const alice = await capped.token('alice');
    const first = await openSession(capped.mcpUrl, alice);
    await openSession(capped.mcpUrl, alice);

    const third = await initialize(capped.mcpUrl, alice);
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(third.headers.get('mcp-session-id')).toBeNull();
    expect(await third.json()).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: expect.any(Number) } });

    // The cap is per principal: bob still gets a session.
    await openSession(capped.mcpUrl, await capped.token('bob'));

    // Ending one of alice's sessions frees a slot.
    expect((await deleteSession(capped.mcpUrl, alice, first)).status).toBe(200);
    await openSession(capped.mcpUrl, alice);
  });

  it('the cap counts HTTP+SSE sessions too: a third stream for the same principal gets 429', async () => {
    const carol = await capped.token('carol');
    await openSession(capped.mcpUrl, carol);
    await openSession(capped.mcpUrl, carol);
    const res = await fetch(`${capped.url}/mcp/sse`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${carol}` },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    await res.body?.cancel();
  });
});
