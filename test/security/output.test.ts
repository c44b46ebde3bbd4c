/**
 * SECURITY.md B.7 — output, error and log attacks (O- rows) on a real gateway whose application
 * log is captured and whose audit goes to SQLite and a JSON-lines file: failure-reason probing,
 * header injection, log forging and terminal spoofing, secret leakage, a failing audit sink,
 * markup in tool output, existence oracles, and tampering with the stored trail.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { createGateway } from '../../src/gateway.js';
import type { Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observability/log.js';
import { storedEvents } from '../audit/helpers.js';
import { runCli } from '../cli/helpers.js';
import { ISSUER } from '../helpers/gateway.js';
import { postModern, randomSessionId, SseReader } from '../integration/support.js';
import { Writable } from 'node:stream';
import {
  deleteSession,
  openSession,
  rpcOn,
  seenCalls,
  sessionHeaders,
  startSecurityGateway,
} from './support/session.js';
import type { SecurityGateway } from './support/session.js';

const INSTANCE = 'sec-output';

let base: SecurityGateway;
/** The gateway actually serving `base.url`: the same config, with its log captured. */
let gateway: Gateway;
const logLines: string[] = [];

beforeAll(async () => {
  base = await startSecurityGateway({
    extraYaml: `audit:\n  instance: ${INSTANCE}\n  jsonl: { path: audit.jsonl }`,
  });
  await base.gateway.close();
  const config = loadConfigFile(path.join(base.dir, 'portcullis.yaml'), { port: base.port, env: {} });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  gateway = await createGateway(config, { logger: createLogger('debug', sink) });
  await gateway.listen();
});

afterAll(async () => {
  await gateway?.close();
  await base?.close();
});

const jsonlPath = (): string => path.join(base.dir, 'audit.jsonl');
const sqlitePath = (): string => path.join(base.dir, 'audit.sqlite');

/** Every stored event, after flushing what was only recorded. */
async function auditEvents(): Promise<ReturnType<typeof storedEvents>> {
  await gateway.audit.commit({ event: 'config.loaded', reason: 'test flush' });
  return storedEvents(sqlitePath(), INSTANCE);
}

/** Everything the gateway wrote: the app log, the JSONL trail and the SQLite trail, as text. */
async function everythingWritten(): Promise<{ log: string; jsonl: string; sqlite: string }> {
  const sqlite = JSON.stringify(await auditEvents());
  return { log: logLines.join(''), jsonl: readFileSync(jsonlPath(), 'utf8'), sqlite };
}

interface RpcBody {
  result?: { isError?: boolean; content?: { text?: string }[] };
  error?: { code: number; message: string };
}

describe('B.7 what a failing client can learn', () => {
  it('O-02 expired, badly signed, wrong-audience and unknown-issuer tokens get one identical 401; the log keeps why', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: ISSUER, aud: base.mcpUrl, sub: 'alice', org_id: 'acme', roles: ['user'] };
    const tokens = [
      await base.sign({ ...claims, iat: now - 7200, exp: now - 3600 }),
      await base.sign({ ...claims, iat: now, exp: now + 600 }, { secret: 'another-secret-0123456789abcdef0123456789' }),
      await base.sign({ ...claims, aud: 'https://other.example/mcp', iat: now, exp: now + 600 }),
      await base.sign({ ...claims, iss: 'https://evil.example', iat: now, exp: now + 600 }),
    ];
    const answers = [];
    for (const t of tokens) {
      const res = await postModern(base.mcpUrl, t, 'tools/list');
      answers.push({
        status: res.status,
        challenge: res.headers.get('www-authenticate'),
        type: res.headers.get('content-type'),
        body: await res.text(),
        requestId: res.headers.get('x-request-id') ?? '',
      });
    }
    for (const a of answers) {
      expect(a.status).toBe(401);
      expect({ ...a, requestId: '' }).toEqual({ ...answers[0], requestId: '' });
    }
    expect(answers[0]?.body).toBe('{"error":"invalid_token"}');
    expect(answers[0]?.challenge).toBe(
      `Bearer error="invalid_token", error_description="The access token is missing, invalid or expired", ` +
        `resource_metadata="${base.url}/.well-known/oauth-protected-resource/mcp"`,
    );
    const events = await auditEvents();
    const reasons = answers.map((a) => events.find((e) => e.requestId === a.requestId)?.reason);
    expect(new Set(reasons).size).toBe(4);
    for (const [i, a] of answers.entries()) {
      const line = logLines.find((l) => l.includes(a.requestId));
      expect(JSON.parse(line ?? '{}')).toMatchObject({ event: 'auth.failed', reason: reasons[i] });
    }
  });

  it('O-03 CR, LF and quotes in kid, iss and typ never reach a response header; no 500', async () => {
    const now = Math.floor(Date.now() / 1000);
    const evil = '"\r\nX-Injected: yes\r\n\r\n<html>';
    const variants = [
      base.sign(
        { iss: ISSUER, aud: base.mcpUrl, sub: 'alice', org_id: 'acme', iat: now, exp: now + 600 },
        { header: { kid: evil, typ: evil } },
      ),
      base.sign({ iss: evil, aud: base.mcpUrl, sub: 'alice', org_id: 'acme', iat: now, exp: now + 600 }),
      base.sign({ iss: ISSUER, aud: evil, sub: evil, org_id: 'acme', iat: now, exp: now + 600 }),
    ];
    const generic = (await postModern(base.mcpUrl, 'x.y.z', 'tools/list')).headers.get('www-authenticate');
    for (const token of await Promise.all(variants)) {
      const res = await postModern(base.mcpUrl, token, 'tools/list');
      expect([200, 401]).toContain(res.status);
      expect(res.headers.get('x-injected')).toBeNull();
      const body = await res.text();
      expect(body).not.toContain('X-Injected');
      if (res.status === 401) expect(res.headers.get('www-authenticate')).toBe(generic);
      for (const [, value] of res.headers) expect(value).not.toMatch(/[\r\n"]X-Injected|<html>/);
    }
  });
});

describe('B.7 log and audit integrity', () => {
  const forged = 'x\n{"level":30,"event":"tool.called","decision":"allow","sub":"admin","outcome":"ok"}';
  const spoof = 'report\u001b[2J\u202egnp.exe\u2028next\u2029line\u2066';

  /** Lines of `text` that parse as JSON objects; every line must. */
  function jsonLines(text: string): Record<string, unknown>[] {
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it('O-05 a forged record in a tool name, an argument, an error or a name claim stays inside one escaped field', async () => {
    const alice = await base.token('alice');
    const id = await openSession(base.mcpUrl, alice);
    const unknown = await rpcOn(base.mcpUrl, alice, id, 'tools/call', { name: forged, arguments: {} });
    expect(((await unknown.json()) as RpcBody).error?.code).toBe(-32602);
    const arg = await rpcOn(base.mcpUrl, alice, id, 'tools/call', { name: 'sec_record', arguments: { note: forged } });
    expect(((await arg.json()) as RpcBody).result?.isError).toBeUndefined();
    const thrown = await rpcOn(base.mcpUrl, alice, id, 'tools/call', { name: 'sec_fail', arguments: { note: forged } });
    expect(((await thrown.json()) as RpcBody).result?.isError).toBe(true);
    const now = Math.floor(Date.now() / 1000);
    const claim = await base.sign({
      iss: ISSUER,
      aud: base.mcpUrl,
      sub: forged,
      org_id: 'acme',
      iat: now,
      exp: now + 600,
    });
    expect((await postModern(base.mcpUrl, claim, 'tools/list')).status).toBe(401);

    const { log, jsonl } = await everythingWritten();
    for (const text of [log, jsonl]) {
      const records = jsonLines(text);
      expect(records.filter((r) => r.decision !== undefined || r.sub !== undefined)).toEqual([]);
    }
    const events = await auditEvents();
    const denied = events.find((e) => e.requestId === unknown.headers.get('x-request-id'));
    expect(denied?.tool).toBe(forged.replace('\n', '\\u000a'));
    const called = events.find((e) => e.requestId === arg.headers.get('x-request-id') && e.event === 'tool.called');
    expect(JSON.parse(called?.arguments ?? '{}')).toMatchObject({ note: forged });
    expect(called?.arguments).not.toContain('\n');
    const refused = events.find((e) => e.requestId !== null && e.reason === 'bad_user_claim');
    expect(refused).toMatchObject({ event: 'auth.failed', user: null });
  });

  it('O-06 ESC, bidi overrides and U+2028 are written as \\u escapes in the audit and the log', async () => {
    const alice = await base.token('alice');
    const id = await openSession(base.mcpUrl, alice);
    const responses = [
      await rpcOn(base.mcpUrl, alice, id, 'tools/call', { name: spoof, arguments: {} }),
      await rpcOn(base.mcpUrl, alice, id, 'tools/call', { name: 'sec_record', arguments: { note: spoof } }),
      await rpcOn(base.mcpUrl, alice, id, 'tools/call', { name: 'sec_fail', arguments: { note: spoof } }),
    ];
    for (const r of responses) expect(r.status).toBe(200);
    const { log, jsonl, sqlite } = await everythingWritten();
    // eslint-disable-next-line no-control-regex -- the characters under test
    const raw = /[\u001b\u202e\u2028\u2029\u2066]/;
    expect(raw.test(jsonl)).toBe(false);
    expect(raw.test(log)).toBe(false);
    const events = await auditEvents();
    const denied = events.find((e) => e.requestId === responses[0]?.headers.get('x-request-id'));
    expect(denied?.tool).toBe('report\\u001b[2J\\u202egnp.exe\\u2028next\\u2029line\\u2066');
    expect(raw.test(sqlite)).toBe(false);
    // The JSONL line still decodes to the stored event.
    const line = jsonLines(jsonl).find((r) => r.requestId === responses[1]?.headers.get('x-request-id'));
    expect(JSON.parse(String(line?.arguments))).toMatchObject({ note: spoof });
    const failure = jsonLines(log).find((r) => r.requestId === responses[2]?.headers.get('x-request-id'));
    expect(failure?.err).toMatchObject({ message: `cannot handle ${spoof}` }); // decodes to the same text
  });

  it('O-07 tokens, legacy ?sessionId=, session ids and password arguments never appear in the log or the audit', async () => {
    const alice = await base.token('alice');
    const carol = await base.token('carol');
    const password = 'hunter2-correct-horse-battery-staple';
    const id = await openSession(base.mcpUrl, alice);
    await (await rpcOn(base.mcpUrl, alice, id, 'tools/call', { name: 'sec_record', arguments: { password } })).text();
    await (await postModern(base.mcpUrl, carol, 'tools/call', { name: 'sec_record', arguments: { password } })).text();
    const badToken = `${alice.slice(0, -4)}AAAA`;
    expect((await postModern(base.mcpUrl, badToken, 'tools/list')).status).toBe(401);

    // A legacy HTTP+SSE session: its id travels in the query string.
    const sse = await fetch(`${base.url}/mcp/sse`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${carol}` },
    });
    const reader = new SseReader(sse);
    const endpoint = await reader.next();
    expect(endpoint.event).toBe('endpoint');
    const legacyId = new URLSearchParams(endpoint.data.split('?')[1]).get('sessionId') ?? '';
    expect(legacyId.length).toBeGreaterThan(20);
    const posted = await fetch(`${base.url}${endpoint.data}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${carol}` },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 5,
        method: 'tools/call',
        params: { name: 'sec_record', arguments: { password } },
      }),
    });
    expect(posted.status).toBe(202);
    expect(JSON.parse((await reader.next()).data)).toMatchObject({
      id: 5,
      result: { content: [{ text: 'recorded' }] },
    });
    await reader.close();
    expect(seenCalls().filter((c) => c.args.password === password).length).toBe(3); // the tool itself got it

    const written = await everythingWritten();
    for (const [where, text] of Object.entries(written)) {
      for (const secret of [alice, carol, badToken, password, id, legacyId]) {
        expect({ where, found: text.includes(secret) }).toEqual({ where, found: false });
      }
    }
    const redacted = (await auditEvents()).filter((e) => e.event === 'tool.called' && e.tool === 'sec_record');
    expect(redacted.some((e) => e.arguments?.includes('"password":"[redacted]"'))).toBe(true);
  });
});

describe('B.7 response headers and existence oracles', () => {
  it('O-10 markup in a tool result goes out as JSON or an event stream with nosniff, never text/html', async () => {
    const alice = await base.token('alice');
    const json = await postModern(base.mcpUrl, alice, 'tools/call', { name: 'sec_html', arguments: {} });
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(json.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await json.text()).toContain('<script>');

    const id = await openSession(base.mcpUrl, alice);
    const stream = await rpcOn(base.mcpUrl, alice, id, 'tools/call', {
      name: 'sec_html',
      arguments: {},
      _meta: { progressToken: 'p' },
    });
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers.get('x-content-type-options')).toBe('nosniff');
    const events = await stream.text();
    expect(events).toContain('notifications/progress');
    expect(events).toContain('<script>');
    for (const r of [json, stream]) expect(r.headers.get('content-type')).not.toMatch(/html/);
  });

  /** Headers that must match between two answers: all but the per-request ones. */
  function stableHeaders(res: Response): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of res.headers) if (k !== 'x-request-id' && k !== 'date') out[k] = v;
    return out;
  }

  async function snapshot(res: Response): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    return { status: res.status, headers: stableHeaders(res), body: await res.text() };
  }

  it('O-12 hidden vs missing tool and foreign vs missing session give identical status, headers and body', async () => {
    const alice = await base.token('alice');
    const bob = await base.token('bob');
    const modern = (name: string) =>
      postModern(base.mcpUrl, alice, 'tools/call', { name, arguments: { tenantId: 'acme', confirm: true } });
    expect(await snapshot(await modern('deprovision_tenant'))).toEqual(await snapshot(await modern('no_such_tool')));

    const id = await openSession(base.mcpUrl, alice);
    const legacy = (name: string) => rpcOn(base.mcpUrl, alice, id, 'tools/call', { name, arguments: {} });
    expect(await snapshot(await legacy('refund_payment'))).toEqual(await snapshot(await legacy('no_such_tool')));

    const aliceSession = await openSession(base.mcpUrl, alice);
    const missing = randomSessionId();
    const get = (sid: string) =>
      fetch(base.mcpUrl, { headers: { ...sessionHeaders(bob, sid), accept: 'text/event-stream' } });
    const pairs: [Promise<Response>, Promise<Response>][] = [
      [rpcOn(base.mcpUrl, bob, aliceSession, 'tools/list'), rpcOn(base.mcpUrl, bob, missing, 'tools/list')],
      [get(aliceSession), get(missing)],
      [deleteSession(base.mcpUrl, bob, aliceSession), deleteSession(base.mcpUrl, bob, missing)],
    ];
    for (const [foreign, absent] of pairs) {
      const f = await snapshot(await foreign);
      expect(f.status).toBe(404);
      expect(f).toEqual(await snapshot(await absent));
    }
    expect((await rpcOn(base.mcpUrl, alice, aliceSession, 'ping')).status).toBe(200);
  });
});

describe('B.7 a tampered trail', () => {
  it('O-13 editing or deleting one stored row makes audit verify name that row', async () => {
    const alice = await base.token('alice');
    for (let i = 0; i < 3; i++) {
      await (
        await postModern(base.mcpUrl, alice, 'tools/call', { name: 'sec_record', arguments: { note: `n${i}` } })
      ).text();
    }
    const events = await auditEvents();
    const target = events.find((e) => e.event === 'tool.called' && e.tool === 'sec_record');
    expect(target).toBeDefined();
    const seq = target!.seq;
    const copy = (name: string, sql?: string): string => {
      const file = path.join(base.dir, name);
      copyFileSync(sqlitePath(), file);
      for (const suffix of ['-wal', '-shm']) {
        try {
          copyFileSync(`${sqlitePath()}${suffix}`, `${file}${suffix}`);
        } catch {
          // No WAL file to copy: everything is in the main file.
        }
      }
      if (sql !== undefined) {
        const db = new Database(file);
        db.prepare(sql).run(seq);
        db.close();
      }
      return file;
    };
    const verify = (file: string) => runCli(['audit', 'verify', '--db', file, '--instance', INSTANCE], base.dir);
    const [e, d, p] = await Promise.all([
      verify(copy('edited.sqlite', "UPDATE audit_events SET outcome = 'denied', user = 'mallory' WHERE seq = ?")),
      verify(copy('deleted.sqlite', 'DELETE FROM audit_events WHERE seq = ?')),
      verify(copy('pristine.sqlite')),
    ]);
    expect(p.code).toBe(0);
    expect(e.code).toBe(1);
    expect(e.stdout).toMatch(new RegExp(`^audit chain BROKEN at seq ${seq} \\(id [0-9a-f-]{36}\\): hash_mismatch`));
    expect(d.code).toBe(1);
    expect(d.stdout).toMatch(
      new RegExp(`^audit chain BROKEN at seq ${seq + 1} .*gap.*\\n {2}expected seq ${seq}, found seq ${seq + 1}\\n`),
    );
  }, 60_000);
});

describe('B.7 a failing audit sink', () => {
  let failing: SecurityGateway;

  beforeAll(async () => {
    // /dev/full: every write fails with ENOSPC, as on a full disk.
    failing = await startSecurityGateway({ extraYaml: 'audit:\n  sqlite: false\n  jsonl: { path: /dev/full }' });
  });

  afterAll(async () => {
    await failing?.close();
  });

  it('O-09 with the audit sink unwritable, tool calls do not run: 503 -32000, and /readyz reports it', async () => {
    const before = seenCalls().length;
    const carol = await failing.token('carol');
    for (const [name, args] of [
      ['sec_record', { note: 'x' }],
      ['deprovision_tenant', { confirm: true }],
    ] as const) {
      const res = await postModern(failing.mcpUrl, carol, 'tools/call', { name, arguments: args });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      const body = (await res.json()) as RpcBody;
      expect(body.error?.code).toBe(-32000);
      expect(body.error?.message).toMatch(/^Audit trail unavailable; the call was not run \(ref [^)]+\)$/);
    }
    expect(seenCalls().length).toBe(before);
    const usage = await postModern(failing.mcpUrl, await failing.token('dave'), 'tools/call', {
      name: 'get_tenant_usage',
      arguments: {},
    });
    expect(usage.status).toBe(503);
    const ready = await fetch(`${failing.url}/readyz`);
    expect(ready.status).toBe(503);
  });
});
