/**
 * The HTTP edge of the MCP endpoint (SEC-SES-06/08, SEC-IN-01..04/07, RC-6, RC-9..RC-15) and the
 * 2026-07-28 validation ladder (-32020 header mismatch, -32022 unsupported version, 404/-32601 for
 * removed methods). Every answer, whatever its status, carries `nosniff` and `no-store`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { MODERN, modernHeaders, modernParams, postModern, rawRequest } from './support.js';

let gw: TestGateway;
let token: string;

/** Every response seen in this file, checked for the security headers at the end. */
const seen: { what: string; nosniff: string | null | undefined; cacheControl: string | null | undefined }[] = [];

beforeAll(async () => {
  gw = await startGateway();
  token = await gw.token('alice');
});

afterAll(async () => {
  await gw?.close();
});

function record(what: string, res: Response): Response {
  seen.push({
    what,
    nosniff: res.headers.get('x-content-type-options'),
    cacheControl: res.headers.get('cache-control'),
  });
  return res;
}

function recordRaw<T extends { headers: Record<string, unknown> }>(what: string, res: T): T {
  seen.push({
    what,
    nosniff: res.headers['x-content-type-options'] as string | undefined,
    cacheControl: res.headers['cache-control'] as string | undefined,
  });
  return res;
}

/** A POST to /mcp with 2026 headers and an arbitrary body text. */
async function postText(what: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(gw.mcpUrl, {
    method: 'POST',
    headers: { ...modernHeaders(token, 'tools/call'), ...headers },
    body,
  });
  return record(what, res);
}

/** A JSON text nested `depth` levels deep: {"a":{"a":…{}…}}. */
function nested(depth: number): string {
  return `${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`;
}

const listBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() });

describe('DNS-rebinding defences (RC-6)', () => {
  it('an Origin that is not allowed gets 403, even with a valid token (S-16)', async () => {
    const res = record(
      'evil origin',
      await fetch(gw.mcpUrl, {
        method: 'POST',
        headers: { ...modernHeaders(token, 'tools/list'), origin: 'https://evil.example' },
        body: listBody,
      }),
    );
    expect(res.status).toBe(403);
    const body = (await res.json()) as { id?: unknown };
    expect(body.id ?? null).toBeNull();
  });

  it('Origin: null gets 403', async () => {
    const res = record(
      'null origin',
      await fetch(gw.mcpUrl, {
        method: 'POST',
        headers: { ...modernHeaders(token, 'tools/list'), origin: 'null' },
        body: listBody,
      }),
    );
    expect(res.status).toBe(403);
  });

  it("the gateway's own origin is accepted", async () => {
    const res = record(
      'own origin',
      await fetch(gw.mcpUrl, {
        method: 'POST',
        headers: { ...modernHeaders(token, 'tools/list'), origin: gw.url },
        body: listBody,
      }),
    );
    expect(res.status).toBe(200);
  });

  it('a Host that is not allowed gets 403 (S-19)', async () => {
    const res = recordRaw(
      'evil host',
      await rawRequest(gw.mcpUrl, {
        headers: { ...modernHeaders(token, 'tools/list'), host: 'evil.example.com' },
        body: listBody,
      }),
    );
    expect(res.status).toBe(403);
  });

  it('Host: localhost with the right port is accepted', async () => {
    const res = recordRaw(
      'localhost host',
      await rawRequest(gw.mcpUrl, {
        headers: { ...modernHeaders(token, 'tools/list'), host: `localhost:${gw.port}` },
        body: listBody,
      }),
    );
    expect(res.status).toBe(200);
  });
});

describe('methods and media types (RC-10)', () => {
  it('Content-Type text/plain gets 415', async () => {
    const res = await postText('text/plain', listBody, { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
  });

  it('a POST without Accept gets 406', async () => {
    const headers: Record<string, string> = { ...modernHeaders(token, 'tools/list') };
    delete headers.accept;
    const res = recordRaw('no accept', await rawRequest(gw.mcpUrl, { headers, body: listBody }));
    expect(res.headers.accept).toBeUndefined();
    expect(res.status).toBe(406);
  });

  it('a compressed body (Content-Encoding: gzip) gets 415', async () => {
    const res = await postText('gzip', listBody, { 'content-encoding': 'gzip', 'mcp-method': 'tools/list' });
    expect(res.status).toBe(415);
  });

  it('Content-Type application/json with a charset is accepted', async () => {
    const res = await postText('json charset', listBody, {
      'content-type': 'application/json; charset=utf-8',
      'mcp-method': 'tools/list',
    });
    expect(res.status).toBe(200);
  });

  it('a POST accepting only application/json gets 406', async () => {
    const res = await postText('json-only accept', listBody, { accept: 'application/json' });
    expect(res.status).toBe(406);
  });

  it('PUT gets 405 with an Allow header', async () => {
    const res = record(
      'put',
      await fetch(gw.mcpUrl, { method: 'PUT', headers: modernHeaders(token, 'tools/list'), body: listBody }),
    );
    expect(res.status).toBe(405);
    const allow = (res.headers.get('allow') ?? '').split(/,\s*/);
    expect(allow).toEqual(expect.arrayContaining(['GET', 'POST', 'DELETE']));
    expect(allow).not.toContain('PUT');
  });
});

describe('body limits (RC-11)', () => {
  it('a declared body over 1 MiB gets 413 before it is sent', async () => {
    const res = recordRaw(
      'declared 413',
      await rawRequest(gw.mcpUrl, {
        headers: { ...modernHeaders(token, 'tools/list'), 'content-length': String(1024 * 1024 + 1) },
        declareOnly: true,
      }),
    );
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
  });

  it('a body of 1 MiB + 1 byte gets 413', async () => {
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/list',
      params: { ...modernParams(), pad: 'x'.repeat(1024 * 1024) },
    });
    expect(Buffer.byteLength(big)).toBeGreaterThan(1024 * 1024);
    const res = await postText('sent 413', big, { 'mcp-method': 'tools/list' });
    expect(res.status).toBe(413);
  });

  it('a body of exactly 1 MiB is accepted', async () => {
    const base = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/list',
      params: { ...modernParams(), pad: '' },
    });
    const pad = 'x'.repeat(1024 * 1024 - Buffer.byteLength(base));
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { ...modernParams(), pad } });
    expect(Buffer.byteLength(body)).toBe(1024 * 1024);
    const res = await postText('exactly 1 MiB', body, { 'mcp-method': 'tools/list' });
    expect(res.status).toBe(200);
  });

  it('a chunked body crossing 1 MiB gets 413 and the connection is closed (SEC-IN-01)', async () => {
    const res = recordRaw(
      'chunked 413',
      await rawRequest(gw.mcpUrl, {
        headers: { ...modernHeaders(token, 'tools/list'), 'transfer-encoding': 'chunked' },
        body: Buffer.alloc(1024 * 1024 + 1, 0x20),
      }),
    );
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
  });

  it('the gateway still answers after refusing a large body', async () => {
    const res = record('after 413', await postModern(gw.mcpUrl, token, 'tools/list'));
    expect(res.status).toBe(200);
  });
});

describe('JSON-RPC framing (RC-12, RC-13)', () => {
  it('a batch array gets 400 -32600 with id null', async () => {
    const res = await postText('batch', `[${listBody},${listBody}]`, { 'mcp-method': 'tools/list' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
  });

  it('invalid JSON gets 400 -32700 with id null', async () => {
    const res = await postText('invalid json', '{"jsonrpc":"2.0","id":1,"method":');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });

  it('200 levels of nesting in arguments get 400 -32600, and the gateway still answers afterwards', async () => {
    const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_user_profile","arguments":{"userId":${nested(200)}},"_meta":${JSON.stringify(modernParams()._meta)}}}`;
    expect(() => JSON.parse(body) as unknown).not.toThrow();
    const res = await postText('deep nesting', body, { 'mcp-name': 'get_user_profile' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });

    const after = record('after nesting', await postModern(gw.mcpUrl, token, 'tools/list'));
    expect(after.status).toBe(200);
  });

  it('100 000 levels of nesting (600 KB) do not crash the gateway', async () => {
    const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":${nested(100_000)}}}`;
    const res = await postText('very deep nesting', body, { 'mcp-name': 'x' });
    expect(res.status).toBe(400);
    const after = record('after very deep nesting', await postModern(gw.mcpUrl, token, 'tools/list'));
    expect(after.status).toBe(200);
  });

  it('a __proto__ key in arguments gets 400 (SEC-IN-07)', async () => {
    const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_user_profile","arguments":{"userId":"alice","__proto__":{"isAdmin":true}},"_meta":${JSON.stringify(modernParams()._meta)}}}`;
    const res = await postText('__proto__', body, { 'mcp-name': 'get_user_profile' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
  });

  it('a constructor key nested in _meta gets 400 (SEC-IN-07)', async () => {
    const meta = { ...(modernParams()._meta as Record<string, unknown>), x: { constructor: { prototype: {} } } };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } });
    const res = await postText('constructor', body, { 'mcp-method': 'tools/list' });
    expect(res.status).toBe(400);
  });

  it('an id of null gets 400 -32600 (SEC-IN-03)', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: null, method: 'tools/list', params: modernParams() });
    const res = await postText('null id', body, { 'mcp-method': 'tools/list' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('an unknown top-level member gets 400 -32600 (SEC-IN-03)', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams(), extra: 1 });
    const res = await postText('unknown member', body, { 'mcp-method': 'tools/list' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: -32600 } });
  });

  it('a number that overflows to Infinity gets 400 -32600 (SEC-IN-08)', async () => {
    const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_invoices","arguments":{"limit":1e400},"_meta":${JSON.stringify(modernParams()._meta)}}}`;
    const res = await postText('1e400', body, { 'mcp-name': 'list_invoices' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: -32600 } });
  });

  it('a JSON-RPC response sent by the client on 2026 gets 400 (SEC-IN-04)', async () => {
    const res = await postText('client response', JSON.stringify({ jsonrpc: '2.0', id: 1, result: {} }));
    expect(res.status).toBe(400);
  });

  it('a request method sent as a notification is refused, never run (SEC-IN-04)', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      method: 'tools/call',
      params: modernParams({ name: 'get_user_profile', arguments: { userId: 'alice' } }),
    });
    const res = await postText('request as notification', body, { 'mcp-name': 'get_user_profile' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: -32600 } });
  });
});

describe('the 2026-07-28 validation ladder', () => {
  it('Mcp-Method differing from the body method gets 400 -32020, echoing the id', async () => {
    const res = record(
      'method mismatch',
      await postModern(gw.mcpUrl, token, 'tools/list', {}, { id: 42, headers: { 'mcp-method': 'prompts/list' } }),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: 42, error: { code: -32020 } });
  });

  it('Mcp-Name differing from the tool name gets 400 -32020', async () => {
    const res = record(
      'name mismatch',
      await postModern(
        gw.mcpUrl,
        token,
        'tools/call',
        { name: 'get_user_profile', arguments: { userId: 'alice' } },
        { headers: { 'mcp-name': 'deprovision_tenant' } },
      ),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: -32020 } });
  });

  it('an unsupported version in header and _meta gets 400 -32022 with data.supported and data.requested', async () => {
    const version = '2099-01-01';
    const res = record(
      'unsupported version',
      await fetch(gw.mcpUrl, {
        method: 'POST',
        headers: { ...modernHeaders(token, 'server/discover'), 'mcp-protocol-version': version },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'server/discover', params: modernParams({}, version) }),
      }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      id: unknown;
      error: { code: number; data: { supported: unknown; requested: unknown } };
    };
    expect(body.id).toBe(9);
    expect(body.error.code).toBe(-32022);
    expect(body.error.data.supported).toEqual(expect.arrayContaining([MODERN]));
    expect(body.error.data.requested).toBe(version);
  });

  it('ping on 2026-07-28 gets 404 -32601', async () => {
    const res = record('ping', await postModern(gw.mcpUrl, token, 'ping', {}, { id: 5 }));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: 5, error: { code: -32601 } });
  });

  it('initialize carrying a 2026 claim gets 404 -32601', async () => {
    const res = record('modern initialize', await postModern(gw.mcpUrl, token, 'initialize', {}, { id: 6 }));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ id: 6, error: { code: -32601 } });
  });

  it('a 2026 header without the 2026 _meta gets 400 -32602', async () => {
    const res = record(
      'header without meta',
      await fetch(gw.mcpUrl, {
        method: 'POST',
        headers: modernHeaders(token, 'server/discover'),
        body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'server/discover', params: {} }),
      }),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ id: 3, error: { code: -32602 } });
  });
});

describe('response headers', () => {
  it('unknown paths get 404 and the same headers', async () => {
    const res = record('unknown path', await fetch(`${gw.url}/nope`));
    expect(res.status).toBe(404);
  });

  it('every response above carries x-content-type-options: nosniff and cache-control: no-store', () => {
    expect(seen.length).toBeGreaterThan(20);
    for (const r of seen) {
      expect({ what: r.what, nosniff: r.nosniff, cacheControl: r.cacheControl }).toEqual({
        what: r.what,
        nosniff: 'nosniff',
        cacheControl: 'no-store',
      });
    }
  });
});
