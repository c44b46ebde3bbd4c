/**
 * SECURITY.md B.8, legacy HTTP+SSE attacks (L-*): the 2024-11-05 transport (`GET /mcp/sse`, or
 * `GET /mcp` without a session, then `POST /mcp/messages?sessionId=…`) under the same controls
 * as Streamable HTTP. Streams are opened by hand so each test sees exactly what reaches them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { captureLogger } from '../audit/helpers.js';
import { randomSessionId, rawRequest, SseReader } from '../integration/support.js';
import { answerOf, auditBytes, auditEvents, expectAuthRefusal, startAuthGateway } from './support/auth.js';
import type { SecurityGateway } from './support/session.js';

/** A tool that blocks until the test releases it: an answer still owed when its stream is gone. */
const LATCH = '__portcullisLegacyLatch';
interface Latch {
  started: number;
  release?: () => void;
}
const latch = (): Latch => ((globalThis as Record<string, unknown>)[LATCH] ??= { started: 0 }) as Latch;
const MODULE = `
export async function wait() {
  const l = (globalThis.${LATCH} ??= { started: 0 });
  l.started += 1;
  await new Promise((resolve) => { l.release = resolve; });
  return { content: [{ type: 'text', text: 'released late' }] };
}
`;

let gw: SecurityGateway;
let sseUrl: string;
let moduleDir: string;
const logs = captureLogger();

beforeAll(async () => {
  moduleDir = mkdtempSync(path.join(tmpdir(), 'portcullis-l07-'));
  const modulePath = path.join(moduleDir, 'wait.mjs');
  writeFileSync(modulePath, MODULE);
  gw = await startAuthGateway({
    logger: logs.logger,
    tools: `
  - name: sec_wait
    description: Waits until the test releases it (security tests).
    input: { type: object, properties: {} }
    roles: [user, admin]
    readOnly: true
    module: { file: ${JSON.stringify(modulePath)}, export: wait }`,
  });
  sseUrl = `${gw.url}/mcp/sse`;
});

afterAll(async () => {
  latch().release?.();
  await gw?.close();
  rmSync(moduleDir, { recursive: true, force: true });
});

const prm = (): string => `${gw.url}/.well-known/oauth-protected-resource/mcp`;

interface Stream {
  reader: SseReader;
  endpoint: string;
  sessionId: string;
}

/** Opens a 2024-11-05 stream by hand and reads its `endpoint` event. */
async function openStream(token: string, url = sseUrl): Promise<Stream> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  const reader = new SseReader(res);
  const first = await reader.next();
  expect(first.event).toBe('endpoint');
  expect(first.data).toMatch(/^\/mcp\/messages\?sessionId=[A-Za-z0-9_-]+$/);
  return {
    reader,
    endpoint: `${gw.url}${first.data}`,
    sessionId: new URL(first.data, gw.url).searchParams.get('sessionId') ?? '',
  };
}

function post(url: string, token: string | undefined, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token !== undefined && { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const messages = (sessionId: string): string => `${gw.url}/mcp/messages?sessionId=${encodeURIComponent(sessionId)}`;

/** Asserts that the next message on `s` answers request `id` (so nothing else arrived before it). */
async function nextIsAnswerTo(s: Stream, token: string, id: string): Promise<void> {
  const res = await post(s.endpoint, token, { jsonrpc: '2.0', id, method: 'ping' });
  expect(res.status).toBe(202);
  const next = await s.reader.next(10_000);
  expect(next.event).toBe('message');
  expect(JSON.parse(next.data)).toEqual({ jsonrpc: '2.0', id, result: {} });
}

/** RC-8: 404 with the SDK's `-32001 Session not found` and no id. */
async function expectSessionNotFound(res: Response): Promise<string> {
  expect(res.status).toBe(404);
  const body = await res.text();
  expect(JSON.parse(body)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
  return body;
}

describe('B.8 legacy HTTP+SSE attacks', () => {
  it('L-02 a token in the query (GET /mcp/sse, GET /mcp, POST /mcp/messages) is no credential (RC-1) and is never logged or audited', async () => {
    const token = await gw.token('alice', { jti: 'l02' });
    const ids: (string | undefined)[] = [];
    for (const url of [`${sseUrl}?access_token=${token}`, `${gw.mcpUrl}?access_token=${token}`]) {
      const a = await answerOf(await fetch(url, { headers: { accept: 'text/event-stream' } }));
      expectAuthRefusal(a, 'missing', prm());
      ids.push(a.header('x-request-id'));
    }
    const a = await answerOf(
      await post(`${messages(randomSessionId())}&access_token=${token}`, undefined, {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/list',
      }),
    );
    expectAuthRefusal(a, 'missing', prm());
    ids.push(a.header('x-request-id'));
    expect(gw.gateway.sessions.size).toBe(0);
    await vi.waitFor(
      () => {
        const stored = new Set(auditEvents(gw).map((e) => e.requestId));
        expect(ids.every((id) => id !== undefined && stored.has(id))).toBe(true);
      },
      { timeout: 10_000, interval: 50 },
    );
    const signature = token.split('.')[2] ?? '';
    // The refusals are logged (so the log is really captured), without the token.
    expect(ids.every((id) => logs.lines.some((l) => l.includes(`"requestId":"${id}"`)))).toBe(true);
    expect(logs.lines.join('')).not.toContain(signature);
    expect(auditBytes(gw)).not.toContain(signature);
  });

  it("L-03 bob posting to alice's sessionId gets the unknown-session 404 (RC-8); nothing reaches alice's stream; audited", async () => {
    const alice = await gw.token('alice');
    const s = await openStream(alice);
    try {
      const call = { jsonrpc: '2.0', id: 'bob-1', method: 'tools/call', params: { name: 'sec_record', arguments: {} } };
      const hijack = await post(s.endpoint, await gw.token('bob'), call);
      const requestId = hijack.headers.get('x-request-id');
      const unknown = await post(messages(randomSessionId()), await gw.token('bob'), call);
      expect(await expectSessionNotFound(hijack)).toBe(await expectSessionNotFound(unknown));
      // Same user id, another tenant: another principal.
      await expectSessionNotFound(await post(s.endpoint, await gw.token('alice', { org_id: 'globex' }), call));
      await nextIsAnswerTo(s, alice, 'alice-1');
      await vi.waitFor(
        () =>
          expect(auditEvents(gw).find((e) => e.requestId === requestId)).toMatchObject({
            event: 'session.owner_mismatch',
            user: 'bob',
            reason: 'session_owner_mismatch',
          }),
        { timeout: 10_000, interval: 50 },
      );
    } finally {
      await s.reader.close();
    }
  });

  it('L-04 POST /mcp/messages without a sessionId, or with a malformed one, gets 400; an unknown one 404', async () => {
    const token = await gw.token('alice');
    const s = await openStream(token);
    try {
      const body = { jsonrpc: '2.0', id: 1, method: 'ping' };
      const expect400 = async (url: string) => {
        const res = await post(url, token, body);
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
      };
      await expect400(`${gw.url}/mcp/messages`);
      await expect400(`${gw.url}/mcp/messages?sessionid=${s.sessionId}`);
      await expect400(`${gw.url}/mcp/messages?sessionId=`);
      // Repeated, with spaces, a wildcard, a separator, CR/LF, non-ASCII, 10 KB, or a live id plus junk.
      await expect400(`${s.endpoint}&sessionId=${s.sessionId}`);
      for (const bad of ['a b', '*', 'x:y', 'a\r\nb', 'é'.repeat(43), 'A'.repeat(10_000), `${s.sessionId},x`]) {
        await expect400(messages(bad));
      }
      await expectSessionNotFound(await post(messages(randomSessionId()), token, body));
      // The live session was not disturbed, and its id (a bearer of the session) is in no log line.
      await nextIsAnswerTo(s, token, 'after-l04');
      expect(logs.lines.join('')).not.toContain(s.sessionId);
    } finally {
      await s.reader.close();
    }
  });

  it('L-06 an evil Origin (or Host) on /mcp/sse, GET /mcp and /mcp/messages gets 403 (RC-6), before any session exists', async () => {
    const token = await gw.token('alice');
    // Streams of earlier tests are gone once the gateway has seen them close.
    await vi.waitFor(() => expect(gw.gateway.sessions.size).toBe(0), { timeout: 10_000, interval: 20 });
    const refused = async (res: Response) => {
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
    };
    for (const origin of ['https://evil.example', 'null', `${gw.url}.evil.example`]) {
      const headers = { accept: 'text/event-stream', authorization: `Bearer ${token}`, origin };
      await refused(await fetch(sseUrl, { headers }));
      await refused(await fetch(gw.mcpUrl, { headers }));
      await refused(
        await post(messages(randomSessionId()), token, { jsonrpc: '2.0', id: 1, method: 'ping' }, { origin }),
      );
    }
    // DNS rebinding: a foreign Host, sent as is over node:http.
    for (const url of [sseUrl, gw.mcpUrl]) {
      const res = await rawRequest(url, {
        method: 'GET',
        headers: { host: 'evil.example', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(403);
    }
    expect(gw.gateway.sessions.size).toBe(0);
    // The gateway's own origin is allowed.
    const s = await openStream(token);
    await s.reader.close();
  });

  it("L-07 an answer owed after the owner's stream closed is dropped, never delivered to another stream; the session is gone (404)", async () => {
    const alice = await gw.token('alice');
    const bob = await gw.token('bob');
    const gone = await openStream(alice);
    const aliceOther = await openStream(alice);
    const bobStream = await openStream(bob);
    try {
      const started = latch().started;
      const call = { jsonrpc: '2.0', id: 'late-1', method: 'tools/call', params: { name: 'sec_wait', arguments: {} } };
      expect((await post(gone.endpoint, alice, call)).status).toBe(202);
      await vi.waitFor(() => expect(latch().started).toBe(started + 1), { timeout: 10_000, interval: 20 });
      const size = gw.gateway.sessions.size;
      await gone.reader.close();
      await vi.waitFor(() => expect(gw.gateway.sessions.size).toBe(size - 1), { timeout: 10_000, interval: 20 });
      latch().release?.();
      // The first message on each remaining stream is the answer to its own next request.
      await nextIsAnswerTo(aliceOther, alice, 'other-1');
      await nextIsAnswerTo(bobStream, bob, 'bob-1');
      await expectSessionNotFound(await post(gone.endpoint, alice, { jsonrpc: '2.0', id: 2, method: 'ping' }));
    } finally {
      latch().release?.();
      await Promise.all([gone, aliceOther, bobStream].map((s) => s.reader.close()));
    }
  });

  it('L-09 open /sse streams are capped per principal and in total (429 + Retry-After); a closed stream frees its slot', async () => {
    const capped = await startAuthGateway({ sessions: { maxPerPrincipal: 2, maxTotal: 3 } });
    const streams: SseReader[] = [];
    const open = async (name: 'alice' | 'carol' | 'dave') => {
      const res = await fetch(`${capped.url}/mcp/sse`, {
        headers: { accept: 'text/event-stream', authorization: `Bearer ${await capped.token(name)}` },
      });
      if (res.status === 200) {
        const reader = new SseReader(res);
        expect((await reader.next()).event).toBe('endpoint');
        streams.push(reader);
      }
      return res;
    };
    const refused = async (res: Response) => {
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
    };
    try {
      expect((await open('dave')).status).toBe(200);
      expect((await open('dave')).status).toBe(200);
      await refused(await open('dave')); // per principal
      expect((await open('carol')).status).toBe(200);
      await refused(await open('alice')); // in total
      expect(capped.gateway.sessions.size).toBe(3);
      await streams.shift()?.close();
      await vi.waitFor(() => expect(capped.gateway.sessions.size).toBe(2), { timeout: 10_000, interval: 20 });
      expect((await open('dave')).status).toBe(200);
    } finally {
      await Promise.all(streams.map((r) => r.close()));
      await capped.close();
    }
  });

  it('L-10 an invalid body on /mcp/messages gets 400 with a generic message; the body is never echoed', async () => {
    const token = await gw.token('alice');
    const s = await openStream(token);
    try {
      const marker = '<script>l10-marker</script>';
      const cases: [string | Buffer, number][] = [
        [`not json ${marker}`, -32700],
        [`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":"${marker}"}`, -32600],
        [`[{"jsonrpc":"2.0","id":1,"method":"${marker}"}]`, -32600],
        [`{"jsonrpc":"1.0","id":{"x":"${marker}"},"method":"ping"}`, -32600],
        [
          Buffer.concat([
            Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"${marker}`),
            Buffer.from([0xff, 0xfe]),
            Buffer.from('"}'),
          ]),
          -32700,
        ],
      ];
      for (const [body, code] of cases) {
        const res = await fetch(s.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body,
        });
        expect(res.status).toBe(400);
        const text = await res.text();
        expect(text).not.toContain('l10-marker');
        expect(JSON.parse(text)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code } });
      }
      // Nothing was delivered on the stream for them.
      await nextIsAnswerTo(s, token, 'after-l10');
    } finally {
      await s.reader.close();
    }
  });
});
