/**
 * SECURITY.md B.2 — session and transport attacks (S- rows), each asserting the §0 answer on a
 * real gateway over loopback HTTP: hijacking, fixation, malformed and predictable ids,
 * termination, resumption theft, Origin/Host, version downgrade, methods and media types,
 * and plain HTTP against a TLS listener.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedEvents } from '../audit/helpers.js';
import { loadConfigText } from '../../src/config/load.js';
import type { PortcullisError } from '../../src/errors.js';
import { createGateway } from '../../src/gateway.js';
import type { Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observability/log.js';
import { isWellFormedSessionId } from '../../src/session/registry.js';
import { freePort, startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { randomSessionId, rawRequest, SseReader } from '../integration/support.js';
import {
  deleteSession,
  initializeRaw,
  openSession,
  rpcOn,
  seenCalls,
  sessionHeaders,
  startSecurityGateway,
} from './support/session.js';
import type { SecurityGateway } from './support/session.js';
import { selfSignedCert } from '../helpers/tls.js';

const INSTANCE = 'sec-sessions';
const NOT_FOUND = { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } };

let gw: SecurityGateway;
let alice: string;
let bob: string;
/** A live session of alice's, opened once. */
let aliceSession: string;

beforeAll(async () => {
  gw = await startSecurityGateway({ fixtures: true, extraYaml: `audit:\n  instance: ${INSTANCE}` });
  alice = await gw.token('alice');
  bob = await gw.token('bob');
  aliceSession = await openSession(gw.mcpUrl, alice);
});

afterAll(async () => {
  await gw?.close();
});

/** RC-8: 404, JSON, exactly the SDK's "Session not found" with id null. */
async function expectSessionNotFound(res: Response): Promise<string> {
  expect(res.status).toBe(404);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(res.headers.get('mcp-session-id')).toBeNull();
  const body = await res.text();
  expect(JSON.parse(body)).toEqual(NOT_FOUND);
  return body;
}

/** RC-1: 401, a challenge without `error=`, naming the resource metadata. */
async function expectNoCredentials(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  const challenge = res.headers.get('www-authenticate') ?? '';
  expect(challenge).toMatch(/^Bearer /);
  expect(challenge).toContain(`resource_metadata="${gw.url}/.well-known/oauth-protected-resource/mcp"`);
  expect(challenge).not.toContain('error=');
  expect(await res.json()).toEqual({ error: 'unauthorized' });
}

/** Every stored audit event of this gateway (flushes what was only recorded first). */
async function auditEvents(): Promise<ReturnType<typeof storedEvents>> {
  await gw.gateway.audit.commit({ event: 'config.loaded', reason: 'test flush' });
  return storedEvents(path.join(gw.dir, 'audit.sqlite'), INSTANCE);
}

function callOn(token: string | undefined, sessionId: string | undefined, args: Record<string, unknown>) {
  return rpcOn(gw.mcpUrl, token, sessionId, 'tools/call', { name: 'sec_record', arguments: args });
}

describe('B.2 session binding', () => {
  it("S-01 bob's tools/call with alice's session id gets the unknown-session 404; alice keeps working; audited", async () => {
    const before = seenCalls().length;
    const hijack = await callOn(bob, aliceSession, { note: 'hijack' });
    const body = await expectSessionNotFound(hijack);
    expect(body).toBe(await expectSessionNotFound(await callOn(bob, randomSessionId(), { note: 'x' })));
    expect(seenCalls().length).toBe(before); // nothing ran

    const own = await callOn(alice, aliceSession, { note: 'mine' });
    expect(own.status).toBe(200);
    expect(((await own.json()) as { result: { isError?: boolean } }).result.isError).toBeUndefined();
    expect(seenCalls().at(-1)).toMatchObject({ user: 'alice', tenant: 'acme', args: { note: 'mine' } });

    const mismatch = (await auditEvents()).find((e) => e.requestId === hijack.headers.get('x-request-id'));
    expect(mismatch).toMatchObject({
      event: 'session.owner_mismatch',
      user: 'bob',
      tenant: 'globex',
      reason: 'session_owner_mismatch',
    });
  });

  it("S-02 alice's session id without a token gets 401 RC-1, on POST, GET and DELETE", async () => {
    await expectNoCredentials(await callOn(undefined, aliceSession, { note: 'x' }));
    await expectNoCredentials(
      await fetch(gw.mcpUrl, { headers: { ...sessionHeaders(undefined, aliceSession), accept: 'text/event-stream' } }),
    );
    await expectNoCredentials(await deleteSession(gw.mcpUrl, undefined, aliceSession));
    expect((await rpcOn(gw.mcpUrl, alice, aliceSession, 'ping')).status).toBe(200);
  });

  it('S-04 the same sub with another tenant claim gets the unknown-session 404', async () => {
    const switched = await gw.token('alice', { org_id: 'globex' });
    const body = await expectSessionNotFound(await rpcOn(gw.mcpUrl, switched, aliceSession, 'tools/list'));
    expect(body).toBe(await expectSessionNotFound(await rpcOn(gw.mcpUrl, switched, randomSessionId(), 'tools/list')));
    // Another issuer-local role set for the same (iss, sub, tenant) is the same principal.
    expect((await rpcOn(gw.mcpUrl, await gw.token('alice', { roles: [] }), aliceSession, 'ping')).status).toBe(200);
  });

  it('S-05 initialize carrying an attacker-chosen Mcp-Session-Id is refused; the value is never adopted or echoed', async () => {
    const chosen = 'attacker-chosen-session-id-0123456789abcdefghij';
    for (const value of [chosen, randomSessionId()]) {
      const res = await initializeRaw(gw.mcpUrl, alice, { headers: { 'mcp-session-id': value } });
      expect(res.status).toBe(400);
      expect(res.headers.get('mcp-session-id')).toBeNull();
      const text = await res.text();
      expect(text).not.toContain(value);
      expect(JSON.parse(text)).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: -32600 } });
      await expectSessionNotFound(await rpcOn(gw.mcpUrl, alice, value, 'tools/list'));
    }
    // A plain initialize gets a fresh, gateway-minted id.
    const fresh = await initializeRaw(gw.mcpUrl, alice);
    await fresh.text();
    expect(fresh.status).toBe(200);
    expect(isWellFormedSessionId(fresh.headers.get('mcp-session-id') ?? '')).toBe(true);
  });

  it('S-06 tools/list without Mcp-Session-Id on the session era gets 400 RC-7 with id null', async () => {
    const res = await rpcOn(gw.mcpUrl, alice, undefined, 'tools/list');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
  });

  it('S-08 malformed session ids get the unknown-session 404 and never reach the store', async () => {
    const unknown = await expectSessionNotFound(await rpcOn(gw.mcpUrl, alice, randomSessionId(), 'tools/list'));
    const malformed = [
      'x'.repeat(10 * 1024),
      `${aliceSession.slice(0, 20)} ${aliceSession.slice(20)}`,
      '*',
      `${aliceSession}*`,
      `1:${aliceSession}`,
      `${aliceSession}é`,
      `${aliceSession}, ${aliceSession}`,
    ];
    for (const id of malformed) {
      expect(isWellFormedSessionId(id)).toBe(false);
      expect(await expectSessionNotFound(await rpcOn(gw.mcpUrl, alice, id, 'tools/list'))).toBe(unknown);
    }
    // Two header lines, each the owner's own valid id: still one ambiguous value, refused.
    const twice = await rawRequest(gw.mcpUrl, {
      headers: { ...sessionHeaders(alice, undefined), 'mcp-session-id': [aliceSession, aliceSession] },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} }),
    });
    expect(twice.status).toBe(404);
    expect(twice.body).toBe(unknown);
  });

  it('S-08 CR or LF inside the id is refused with 400 by the HTTP parser', async () => {
    for (const bad of ['abc\rdef', 'abc\ndef']) {
      const head = await rawSocket(
        gw.port,
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nAuthorization: Bearer ${alice}\r\n` +
          `Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
          `Mcp-Session-Id: ${bad}\r\nContent-Length: 2\r\n\r\n{}`,
      );
      expect(head).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect((await rpcOn(gw.mcpUrl, alice, aliceSession, 'ping')).status).toBe(200);
  });

  it('S-11 DELETE without a token gets 401 RC-1; DELETE by the owner gets 200, then the id is 404 everywhere', async () => {
    const id = await openSession(gw.mcpUrl, alice);
    await expectNoCredentials(await deleteSession(gw.mcpUrl, undefined, id));
    expect((await rpcOn(gw.mcpUrl, alice, id, 'ping')).status).toBe(200);
    const byOwner = await deleteSession(gw.mcpUrl, alice, id);
    expect(byOwner.status).toBe(200);
    await expectSessionNotFound(await rpcOn(gw.mcpUrl, alice, id, 'tools/list'));
    await expectSessionNotFound(
      await fetch(gw.mcpUrl, { headers: { ...sessionHeaders(alice, id), accept: 'text/event-stream' } }),
    );
    await expectSessionNotFound(await deleteSession(gw.mcpUrl, alice, id));
  });

  it('S-12 a second initialize on an existing session gets 400 -32600 and the session is unchanged', async () => {
    const id = await openSession(gw.mcpUrl, alice);
    const again = await initializeRaw(gw.mcpUrl, alice, {
      version: '2025-03-26',
      headers: { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
    });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: -32600 } });
    // Still the negotiated version: the 2025-03-26 header is refused, the original accepted.
    expect((await rpcOn(gw.mcpUrl, alice, id, 'ping')).status).toBe(200);
    const downgraded = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: sessionHeaders(alice, id, '2025-03-26'),
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
    });
    expect(downgraded.status).toBe(400);
  });
});

describe('B.2 streams and resumption', () => {
  it('S-14 resumption with a stolen id is 404; no event id exists to resume, and nothing is replayed', async () => {
    const id = await openSession(gw.mcpUrl, alice);
    // A POST answered as a stream: progress, then the result. No SSE `id:` field is ever issued.
    const progress = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: sessionHeaders(alice, id),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 'p1' } },
      }),
    });
    expect(progress.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const streamed = await progress.text();
    expect(streamed).toContain('notifications/progress');
    expect(streamed.split(/\r?\n/).filter((l) => /^id:/.test(l))).toEqual([]);

    const resume = { ...sessionHeaders(bob, id), accept: 'text/event-stream', 'last-event-id': '0' };
    const stolen = await fetch(gw.mcpUrl, { headers: resume });
    const body = await expectSessionNotFound(stolen);
    expect(body).toBe(
      await expectSessionNotFound(
        await fetch(gw.mcpUrl, { headers: { ...resume, 'mcp-session-id': randomSessionId() } }),
      ),
    );

    // The owner resuming with an id from another stream gets a fresh stream: nothing replayed.
    const own = await fetch(gw.mcpUrl, {
      headers: { ...sessionHeaders(alice, id), accept: 'text/event-stream', 'last-event-id': 'other-stream-1' },
    });
    expect(own.status).toBe(200);
    const reader = new SseReader(own);
    try {
      expect((await deleteSession(gw.mcpUrl, alice, id)).status).toBe(200);
      await expect(reader.next()).rejects.toThrow('SSE stream ended');
    } finally {
      await reader.close();
    }
  });

  it('S-25 a second standalone GET stream on the same session gets 409', async () => {
    const id = await openSession(gw.mcpUrl, alice);
    const headers = { ...sessionHeaders(alice, id), accept: 'text/event-stream' };
    const first = await fetch(gw.mcpUrl, { headers });
    try {
      expect(first.status).toBe(200);
      const second = await fetch(gw.mcpUrl, { headers });
      expect(second.status).toBe(409);
      expect(await second.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
    } finally {
      await first.body?.cancel();
    }
  });
});

describe('B.2 Origin and Host', () => {
  it('S-16 Origin https://evil.example with a valid token gets 403 RC-6; nothing runs', async () => {
    const before = seenCalls().length;
    const res = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: { ...sessionHeaders(alice, aliceSession), origin: 'https://evil.example' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'sec_record', arguments: { note: 'from evil' } },
      }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Forbidden' } });
    expect(seenCalls().length).toBe(before);
    const refused = (await auditEvents()).find((e) => e.requestId === res.headers.get('x-request-id'));
    expect(refused).toMatchObject({ event: 'request.refused', reason: 'origin_not_allowed' });
  });

  it('S-18 no Origin proceeds to authentication: 401 without a token, 200 with one', async () => {
    await expectNoCredentials(await rpcOn(gw.mcpUrl, undefined, aliceSession, 'ping'));
    const ok = await rpcOn(gw.mcpUrl, alice, aliceSession, 'ping');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ jsonrpc: '2.0', id: 7, result: {} });
  });

  it('S-19 Host: evil.example.com with a valid token gets 403 RC-6', async () => {
    const res = await rawRequest(gw.mcpUrl, {
      headers: { ...sessionHeaders(alice, aliceSession), host: 'evil.example.com' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ id: null, error: { code: -32000 } });
    const rebound = await rawRequest(gw.mcpUrl, {
      headers: { ...sessionHeaders(alice, aliceSession), host: `evil.example.com:${gw.port}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(rebound.status).toBe(403);
  });
});

describe('B.2 protocol version', () => {
  async function batch(id: string, version: string): Promise<Response> {
    const one = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
    return fetch(gw.mcpUrl, {
      method: 'POST',
      headers: sessionHeaders(alice, id, version),
      body: JSON.stringify([one, { ...one, id: 2 }]),
    });
  }

  it('S-21 a 2025-03-26 header on a 2025-11-25 session gets 400 RC-9, and a batch stays -32600', async () => {
    const id = await openSession(gw.mcpUrl, alice, '2025-11-25');
    const res = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: sessionHeaders(alice, id, '2025-03-26'),
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    for (const version of ['2025-03-26', '2025-11-25']) {
      const b = await batch(id, version);
      expect(b.status).toBe(400);
      expect(await b.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } });
    }
  });

  it('S-22 initialize asking for 2025-03-26 gets a served version, and batches stay rejected', async () => {
    const res = await initializeRaw(gw.mcpUrl, alice, { version: '2025-03-26' });
    const body = (await res.json()) as { result: { protocolVersion: string } };
    expect(['2025-11-25', '2025-06-18', '2025-03-26']).toContain(body.result.protocolVersion);
    const id = res.headers.get('mcp-session-id') ?? '';
    const b = await batch(id, body.result.protocolVersion);
    expect(b.status).toBe(400);
    expect(await b.json()).toMatchObject({ id: null, error: { code: -32600 } });
  });
});

describe('B.2 methods and media types', () => {
  it('S-24 PUT and PATCH get 405 with Allow; a GET without Accept: text/event-stream gets 406', async () => {
    for (const method of ['PUT', 'PATCH']) {
      const res = await fetch(gw.mcpUrl, {
        method,
        headers: sessionHeaders(alice, aliceSession),
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      });
      expect(res.status).toBe(405);
      expect((res.headers.get('allow') ?? '').split(/,\s*/).sort()).toEqual(['DELETE', 'GET', 'POST']);
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
    }
    const get = await fetch(gw.mcpUrl, {
      headers: { ...sessionHeaders(alice, aliceSession), accept: 'application/json' },
    });
    expect(get.status).toBe(406);
    expect(await get.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
  });
});

describe('B.2 session id predictability', () => {
  let many: TestGateway;
  const N = 10_000;

  beforeAll(async () => {
    const rate = `{ requests: ${N * 4}, windowSec: 60 }`;
    many = await startGateway({
      sessions: { maxPerPrincipal: N + 10, maxTotal: N + 10 },
      extraYaml: `limits:\n  perIp: ${rate}\n  perPrincipal: ${rate}\n  perTenant: ${rate}`,
    });
  });

  afterAll(async () => {
    await many?.close();
  });

  it('S-09 10 000 initializes give distinct 256-bit ids in 0x21-0x7E with no structure', async () => {
    const token = await many.token('alice');
    const ids: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < N) {
        next += 1;
        const res = await initializeRaw(many.mcpUrl, token);
        await res.arrayBuffer();
        expect(res.status).toBe(200);
        ids.push(res.headers.get('mcp-session-id') ?? '');
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(ids.length).toBeGreaterThanOrEqual(N);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.length))).toEqual(new Set([43]));
    for (const id of ids) expect(id).toMatch(/^[\x21-\x7e]+$/);
    // 43 base64url characters decode to 32 bytes: every one of the 256 bits must look like a fair coin.
    const ones = new Array<number>(256).fill(0);
    for (const id of ids) {
      const bytes = Buffer.from(id, 'base64url');
      expect(bytes.length).toBe(32);
      for (let bit = 0; bit < 256; bit++) if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) ones[bit]! += 1;
    }
    // Binomial(n, 1/2): ±8 standard deviations.
    const sd = Math.sqrt(ids.length) / 2;
    for (const count of ones) expect(Math.abs(count - ids.length / 2)).toBeLessThan(8 * sd);
    // No shared prefixes (a counter or a timestamp would show here).
    expect(new Set(ids.map((id) => id.slice(0, 6))).size).toBeGreaterThan(ids.length * 0.99);
  }, 120_000);
});

describe('B.2 plain HTTP against the TLS listener', () => {
  let dir: string;
  let tlsGateway: Gateway;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'portcullis-sec-tls-'));
    selfSignedCert(dir, 'localhost', false);
    port = await freePort();
    writeFileSync(
      path.join(dir, 'c.yaml'),
      `server:\n  port: ${port}\n  tls: { cert: cert.pem, key: key.pem }\nauth:\n  issuers:\n` +
        `    - { issuer: urn:test, algorithms: [HS256], secret: ${'s'.repeat(40)} }\n`,
    );
    const config = loadConfigText(readFileSync(path.join(dir, 'c.yaml'), 'utf8'), { env: {}, baseDir: dir });
    tlsGateway = await createGateway(config, { logger: createLogger('silent') });
    await tlsGateway.listen();
  });

  afterAll(async () => {
    await tlsGateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('S-26 a plain http:// request with a token is not served and never redirected', async () => {
    const answer = await rawSocket(
      port,
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer abc.def.ghi\r\n` +
        `Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
    );
    expect(answer).not.toMatch(/^HTTP\//);
    expect(answer.toLowerCase()).not.toContain('location');
    // And there is no plain-HTTP listener to redirect from: a non-loopback bind without TLS is refused.
    const plain = `server:\n  host: 0.0.0.0\nauth:\n  issuers:\n    - { issuer: urn:test, algorithms: [HS256], secret: ${'s'.repeat(40)} }\n`;
    let problems: readonly string[] = [];
    try {
      loadConfigText(plain, { env: {}, baseDir: dir });
    } catch (err) {
      problems = (err as PortcullisError).problems;
    }
    expect(problems.some((p) => p.startsWith('/server/host: binding 0.0.0.0 without TLS is refused'))).toBe(true);
  });
});

/**
 * Writes `request` on a fresh TCP connection and resolves with everything received until the
 * peer closes (or the first response head, for a plain-HTTP peer that keeps the connection).
 */
function rawSocket(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (/^HTTP\/1\.1 \d{3}[^\r\n]*\r\n[\s\S]*?\r\n\r\n/.test(data)) socket.destroy();
    });
    socket.on('close', () => resolve(data));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(data) : reject(err)));
    socket.setTimeout(15_000, () => socket.destroy());
  });
}
