/**
 * Bearer authentication on the wire (SEC-AUTH-01/02/06/07/09, J-*, RC-1/RC-2/RC-3): every MCP
 * route needs a valid token; a refusal is 401 with a `Bearer` challenge pointing at the
 * protected-resource metadata, carrying `error="invalid_token"` exactly when a token was sent.
 */
import { createHmac } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISSUER, SECRET, startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { modernHeaders, modernParams, rawRequest } from './support.js';

let gw: TestGateway;
let prmUrl: string;

beforeAll(async () => {
  gw = await startGateway();
  prmUrl = `${gw.url}/.well-known/oauth-protected-resource/mcp`;
});

afterAll(async () => {
  await gw?.close();
});

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);

/** Valid claims for alice, to be altered one at a time. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const t = now();
  return {
    iss: ISSUER,
    aud: gw.mcpUrl,
    sub: 'alice',
    org_id: 'acme',
    roles: ['user'],
    iat: t,
    exp: t + 900,
    ...overrides,
  };
}

/** A well-formed 2026-07-28 `tools/list` POST with the given Authorization value (or none). */
function postList(authorization: string | undefined): Promise<Response> {
  const headers = modernHeaders(undefined, 'tools/list');
  return fetch(gw.mcpUrl, {
    method: 'POST',
    headers: authorization === undefined ? headers : { ...headers, authorization },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() }),
  });
}

/** Asserts RC-1 (no credentials) or RC-2 (a token that is not valid). */
async function expectUnauthorized(res: Response, tokenSent: boolean): Promise<void> {
  expect(res.status).toBe(401);
  const challenge = res.headers.get('www-authenticate') ?? '';
  expect(challenge.startsWith('Bearer')).toBe(true);
  expect(challenge).toContain(`resource_metadata="${prmUrl}"`);
  if (tokenSent) expect(challenge).toContain('error="invalid_token"');
  else expect(challenge).not.toContain('error=');
  const body = await res.text();
  // No JSON-RPC processing happened, and no reason details leak.
  expect(body).not.toContain('jsonrpc');
  if (tokenSent) expect(JSON.parse(body)).toEqual({ error: 'invalid_token' });
}

describe('POST /mcp refuses missing and invalid tokens', () => {
  it('a valid token is accepted (control)', async () => {
    const res = await postList(`Bearer ${await gw.token('alice')}`);
    expect(res.status).toBe(200);
  });

  it('the scheme name is case-insensitive: "bearer" is accepted (J-38)', async () => {
    const res = await postList(`bearer ${await gw.token('alice')}`);
    expect(res.status).toBe(200);
  });

  it('no Authorization header gets 401 without an error code (RC-1)', async () => {
    await expectUnauthorized(await postList(undefined), false);
  });

  it('another scheme (Basic) counts as no bearer credentials (RC-1, J-38)', async () => {
    await expectUnauthorized(await postList('Basic YWxpY2U6cGFzc3dvcmQ='), false);
  });

  it('a garbage token gets 401 invalid_token (RC-2)', async () => {
    await expectUnauthorized(await postList('Bearer not-a-jwt'), true);
  });

  it('an unsigned alg:none token gets 401 invalid_token (J-01)', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims())}.`;
    await expectUnauthorized(await postList(`Bearer ${token}`), true);
  });

  it('a token whose payload was tampered with after signing gets 401 invalid_token', async () => {
    const [header, , signature] = (await gw.token('alice')).split('.');
    const forged = `${header}.${b64url(claims({ roles: ['admin'] }))}.${signature}`;
    await expectUnauthorized(await postList(`Bearer ${forged}`), true);
  });

  it('an expired token (beyond the clock tolerance) gets 401 invalid_token (J-14)', async () => {
    const token = await gw.sign(claims({ iat: now() - 600, exp: now() - 120 }));
    await expectUnauthorized(await postList(`Bearer ${token}`), true);
  });

  it('a token from another issuer gets 401 invalid_token', async () => {
    const token = await gw.sign(claims({ iss: 'https://other-idp.example' }));
    await expectUnauthorized(await postList(`Bearer ${token}`), true);
  });

  it('a token for another audience gets 401 invalid_token (J-24)', async () => {
    const token = await gw.sign(claims({ aud: 'https://other.example/mcp' }));
    await expectUnauthorized(await postList(`Bearer ${token}`), true);
  });

  it('a token without exp gets 401 invalid_token (J-16)', async () => {
    const { exp: _exp, ...rest } = claims();
    const token = await gw.sign(rest);
    await expectUnauthorized(await postList(`Bearer ${token}`), true);
  });

  it('an HS256 token signed with a different secret gets 401 invalid_token', async () => {
    const token = await gw.sign(claims(), { secret: 'another-secret-0123456789abcdef0123456789ab' });
    await expectUnauthorized(await postList(`Bearer ${token}`), true);
  });

  it('a token issued in the future gets 401 invalid_token (J-19)', async () => {
    const token = await gw.sign(claims({ iat: now() + 3600, exp: now() + 7200 }));
    await expectUnauthorized(await postList(`Bearer ${token}`), true);
  });

  it('a token longer than the cap gets 401 invalid_token (J-33)', async () => {
    await expectUnauthorized(await postList(`Bearer ${'a'.repeat(9 * 1024)}`), true);
  });
});

describe('tokens with bad claims get 401 invalid_token (RC-2)', () => {
  const t = (): number => now();
  it.each([
    ['J-17: exp as a string', () => claims({ exp: String(t() + 900) })],
    ['missing iat', () => ({ ...claims(), iat: undefined })],
    ['nbf in the future', () => claims({ nbf: t() + 3600 })],
    [
      'J-20: a lifetime far beyond the maximum token age',
      () => claims({ iat: t() - 2 * 86400, exp: t() + 10 * 365 * 86400 }),
    ],
    ['J-21: no iss', () => ({ ...claims(), iss: undefined })],
    ['J-23: no aud', () => ({ ...claims(), aud: undefined })],
    ['aud without the /mcp path', () => claims({ aud: gw.url })],
    ['aud with a trailing slash', () => claims({ aud: `${gw.mcpUrl}/` })],
    ['no sub', () => ({ ...claims(), sub: undefined })],
    ['a sub with characters outside the id alphabet', () => claims({ sub: 'alice\n admin' })],
    ['no tenant claim', () => ({ ...claims(), org_id: undefined })],
    ['roles that are not an array', () => claims({ roles: 'admin' })],
  ])('%s', async (_name, make) => {
    const payload = Object.fromEntries(Object.entries(make()).filter(([, v]) => v !== undefined));
    await expectUnauthorized(await postList(`Bearer ${await gw.sign(payload)}`), true);
  });

  it.each([
    ['an array', []],
    ['null', null],
    ['a number', 123],
    ['a string', 'x'],
  ])('J-35: a payload that is %s', async (_name, payload) => {
    const header = b64url({ alg: 'HS256', typ: 'JWT' });
    const body = b64url(payload);
    const sig = createHmac('sha256', SECRET).update(`${header}.${body}`).digest('base64url');
    await expectUnauthorized(await postList(`Bearer ${header}.${body}.${sig}`), true);
  });

  it('J-26: an aud array that contains the gateway is accepted by default', async () => {
    const token = await gw.sign(claims({ aud: [gw.mcpUrl, 'https://evil.example'] }));
    expect((await postList(`Bearer ${token}`)).status).toBe(200);
  });

  it('SEC-AUTH-03: scheme and host of aud compare case-insensitively', async () => {
    const upper = gw.mcpUrl.replace('http://', 'HTTP://');
    const token = await gw.sign(claims({ aud: upper }));
    expect((await postList(`Bearer ${token}`)).status).toBe(200);
  });
});

describe('oversized headers', () => {
  it('a 20 KiB Authorization header gets 431 from the HTTP layer (J-33)', async () => {
    const res = await rawRequest(gw.mcpUrl, {
      headers: { ...modernHeaders(undefined, 'tools/list'), authorization: `Bearer ${'a'.repeat(20 * 1024)}` },
      body: '{}',
    });
    expect(res.status).toBe(431);
  });
});

describe('malformed credentials get 400 invalid_request (RC-3)', () => {
  it('a bare "Bearer" with no token', async () => {
    const res = await postList('Bearer');
    expect(res.status).toBe(400);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_request"');
  });

  it('"Bearer" followed by two spaces', async () => {
    const res = await postList(`Bearer  ${await gw.token('alice')}`);
    expect(res.status).toBe(400);
  });

  it('two Authorization headers, each carrying a valid token (J-37)', async () => {
    // An array value is sent as two header lines (fetch would join them with a comma).
    const headers: OutgoingHttpHeaders = { ...modernHeaders(undefined, 'tools/list') };
    headers['Authorization'] = [`Bearer ${await gw.token('alice')}`, `Bearer ${await gw.token('bob')}`];
    const res = await rawRequest(gw.mcpUrl, {
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() }),
    });
    expect(res.status).toBe(400);
    const challenge = String(res.headers['www-authenticate'] ?? '');
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('error="invalid_request"');
    expect(challenge).toContain(`resource_metadata="${prmUrl}"`);
  });

  it('a token in the query and in the header (J-36)', async () => {
    const token = await gw.token('alice');
    const res = await fetch(`${gw.mcpUrl}?access_token=${token}`, {
      method: 'POST',
      headers: modernHeaders(token, 'tools/list'),
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_request"');
  });
});

describe('protected resource metadata (SEC-AUTH-07)', () => {
  it('GET /.well-known/oauth-protected-resource/mcp names the MCP endpoint as the resource, without a token', async () => {
    const res = await fetch(prmUrl);
    expect(res.status).toBe(200);
    const prm = (await res.json()) as Record<string, unknown>;
    expect(prm.resource).toBe(`${gw.url}/mcp`);
    expect(prm.authorization_servers).toEqual(expect.arrayContaining([ISSUER]));
    expect(prm.bearer_methods_supported).toEqual(['header']);
    expect(prm.scopes_supported ?? []).not.toContain('offline_access');
  });

  it('POST to the metadata document gets 405', async () => {
    const res = await fetch(prmUrl, { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
  });
});

describe('every MCP route requires a token (SEC-AUTH-01)', () => {
  it('GET /mcp without a token gets 401', async () => {
    const res = await fetch(gw.mcpUrl, { headers: { accept: 'text/event-stream' } });
    await expectUnauthorized(res, false);
  });

  it('GET /mcp with a session id but no token gets 401 (S-02)', async () => {
    const res = await fetch(gw.mcpUrl, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': 'A'.repeat(43) },
    });
    await expectUnauthorized(res, false);
  });

  it('DELETE /mcp without a token gets 401', async () => {
    const res = await fetch(gw.mcpUrl, { method: 'DELETE', headers: { 'mcp-session-id': 'A'.repeat(43) } });
    await expectUnauthorized(res, false);
  });

  it('GET /mcp/sse without a token gets 401', async () => {
    const res = await fetch(`${gw.url}/mcp/sse`, { headers: { accept: 'text/event-stream' } });
    await expectUnauthorized(res, false);
  });

  it('POST /mcp/messages without a token gets 401', async () => {
    const res = await fetch(`${gw.url}/mcp/messages?sessionId=${'A'.repeat(43)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    await expectUnauthorized(res, false);
  });

  it('an invalid token on GET /mcp/sse gets 401 invalid_token', async () => {
    const res = await fetch(`${gw.url}/mcp/sse`, {
      headers: { accept: 'text/event-stream', authorization: 'Bearer not-a-jwt' },
    });
    await expectUnauthorized(res, true);
  });
});
