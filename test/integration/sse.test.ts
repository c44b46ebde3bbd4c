/**
 * The 2024-11-05 HTTP+SSE transport end to end (SEC-SES-10, L-01…L-10): the official v1
 * `SSEClientTransport` gets the same policy as the other eras, the `sessionId` of
 * `POST /mcp/messages` is bound to the stream's owner, and the session lives exactly as long as
 * its stream.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, ListToolsResultSchema } from '@modelcontextprotocol/core';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { connectSse, firstText, randomSessionId, SseReader } from './support.js';

let gw: TestGateway;
let sseUrl: string;
let alice: Client;
let carol: Client;

beforeAll(async () => {
  gw = await startGateway();
  sseUrl = `${gw.url}/mcp/sse`;
  alice = await connectSse(sseUrl, await gw.token('alice'));
  carol = await connectSse(sseUrl, await gw.token('carol'));
});

afterAll(async () => {
  await alice?.close();
  await carol?.close();
  await gw?.close();
});

/** Opens an SSE stream by hand and reads its `endpoint` event. */
async function openStream(token: string): Promise<{ reader: SseReader; endpoint: string; sessionId: string }> {
  const res = await fetch(sseUrl, {
    headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = new SseReader(res);
  const first = await reader.next();
  expect(first.event).toBe('endpoint');
  // A same-origin relative path, no credentials in it.
  expect(first.data).toMatch(/^\/mcp\/messages\?sessionId=[A-Za-z0-9_-]+$/);
  const sessionId = new URL(first.data, gw.url).searchParams.get('sessionId')!;
  return { reader, endpoint: `${gw.url}${first.data}`, sessionId };
}

function postMessage(url: string, token: string | undefined, message: Record<string, unknown>): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token !== undefined && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ jsonrpc: '2.0', ...message }),
  });
}

describe('the v1 SSE client gets the same policy', () => {
  it('alice sees get_user_profile but not deprovision_tenant; carol sees both', async () => {
    const aliceTools = ListToolsResultSchema.parse(await alice.listTools()).tools.map((t) => t.name);
    const carolTools = ListToolsResultSchema.parse(await carol.listTools()).tools.map((t) => t.name);
    expect(aliceTools).toContain('get_user_profile');
    expect(aliceTools).not.toContain('deprovision_tenant');
    expect(carolTools).toEqual(expect.arrayContaining(['get_user_profile', 'deprovision_tenant']));
  });

  it("alice reads her own profile but not carol's", async () => {
    const own = CallToolResultSchema.parse(
      await alice.callTool({ name: 'get_user_profile', arguments: { userId: 'alice' } }),
    );
    expect(own.isError).toBeFalsy();
    expect(own.structuredContent).toMatchObject({ id: 'alice', tenantId: 'acme' });
    const other = CallToolResultSchema.parse(
      await alice.callTool({ name: 'get_user_profile', arguments: { userId: 'carol' } }),
    );
    expect(other.isError).toBe(true);
  });

  it('carol cannot deprovision globex: isError, tenant mismatch', async () => {
    const r = CallToolResultSchema.parse(
      await carol.callTool({ name: 'deprovision_tenant', arguments: { tenantId: 'globex', confirm: true } }),
    );
    expect(r.isError).toBe(true);
    expect(firstText(r)).toMatch(/must be your own tenant/);
  });

  it('a hidden tool and an unknown tool reject with the same -32602 error', async () => {
    const errOf = (name: string): Promise<unknown> =>
      alice.callTool({ name, arguments: {} }).then(
        () => undefined,
        (e: unknown) => e,
      );
    const hidden = (await errOf('deprovision_tenant')) as { code?: unknown; message?: unknown };
    const unknown = (await errOf('no_such_tool')) as { code?: unknown; message?: unknown };
    expect(hidden.code).toBe(-32602);
    expect(unknown.code).toBe(-32602);
    expect(hidden.message).toBe(unknown.message);
  });
});

describe("the messages endpoint is bound to the stream's owner", () => {
  it("bob posting to alice's sessionId gets 404 like an unknown id, and nothing reaches alice's stream (L-03)", async () => {
    const aliceToken = await gw.token('alice');
    const bobToken = await gw.token('bob');
    const { reader, endpoint } = await openStream(aliceToken);
    try {
      const hijack = await postMessage(endpoint, bobToken, {
        id: 'bob-1',
        method: 'tools/call',
        params: { name: 'get_user_profile', arguments: { userId: 'alice' } },
      });
      const unknown = await postMessage(`${gw.url}/mcp/messages?sessionId=${randomSessionId()}`, bobToken, {
        id: 'bob-1',
        method: 'tools/call',
        params: { name: 'get_user_profile', arguments: { userId: 'alice' } },
      });
      expect(hijack.status).toBe(404);
      expect(unknown.status).toBe(404);
      const body = await hijack.text();
      expect(JSON.parse(body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });
      expect(body).toBe(await unknown.text());

      // The owner's next request is the first thing on her stream: bob's never ran there.
      const own = await postMessage(endpoint, aliceToken, { id: 'alice-1', method: 'tools/list', params: {} });
      expect(own.status).toBe(202);
      const next = await reader.next();
      expect(next.event).toBe('message');
      expect(JSON.parse(next.data)).toMatchObject({
        jsonrpc: '2.0',
        id: 'alice-1',
        result: { tools: expect.any(Array) },
      });
    } finally {
      await reader.close();
    }
  });

  it('a POST without sessionId gets 400 (L-04)', async () => {
    const res = await postMessage(`${gw.url}/mcp/messages`, await gw.token('alice'), {
      id: 1,
      method: 'tools/list',
      params: {},
    });
    expect(res.status).toBe(400);
  });

  it('an invalid body on the messages endpoint is refused without being echoed (L-10)', async () => {
    const token = await gw.token('alice');
    const { reader, endpoint } = await openStream(token);
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":"<script>marker</script>"}',
      });
      expect(res.status).toBe(400);
      expect(await res.text()).not.toContain('marker');
    } finally {
      await reader.close();
    }
  });
});

describe('authentication and origin checks on the SSE routes', () => {
  it('GET /mcp/sse without a token gets 401 with a Bearer challenge and no error code (RC-1)', async () => {
    const res = await fetch(sseUrl, { headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).not.toContain('error=');
    await res.body?.cancel();
  });

  it('GET /mcp/sse with a token in the query only gets 401 (L-02)', async () => {
    const token = await gw.token('alice');
    const res = await fetch(`${sseUrl}?access_token=${token}`, { headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(401);
    await res.body?.cancel();
  });

  it('an evil Origin on /mcp/sse and /mcp/messages gets 403 (L-06)', async () => {
    const token = await gw.token('alice');
    const stream = await fetch(sseUrl, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${token}`, origin: 'https://evil.example' },
    });
    expect(stream.status).toBe(403);
    await stream.body?.cancel();
    const post = await fetch(`${gw.url}/mcp/messages?sessionId=${randomSessionId()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, origin: 'https://evil.example' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    expect(post.status).toBe(403);
  });
});

describe('a session lives as long as its stream', () => {
  it('closing the client frees its session', async () => {
    const before = gw.gateway.sessions.size;
    const dave = await connectSse(sseUrl, await gw.token('dave'));
    expect(gw.gateway.sessions.size).toBe(before + 1);
    await dave.close();
    await vi.waitFor(() => expect(gw.gateway.sessions.size).toBe(before), { timeout: 5000, interval: 20 });
  });

  it('once every client has closed, no session remains', async () => {
    await alice.close();
    await carol.close();
    await vi.waitFor(() => expect(gw.gateway.sessions.size).toBe(0), { timeout: 5000, interval: 20 });
  });

  it("a closed stream's sessionId is dead: its owner gets 404", async () => {
    const token = await gw.token('alice');
    const { reader, endpoint } = await openStream(token);
    await reader.close();
    await vi.waitFor(() => expect(gw.gateway.sessions.size).toBe(0), { timeout: 5000, interval: 20 });
    const res = await postMessage(endpoint, token, { id: 1, method: 'tools/list', params: {} });
    expect(res.status).toBe(404);
  });
});
