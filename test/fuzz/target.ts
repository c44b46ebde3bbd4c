/**
 * The fuzz target: a real gateway on loopback (the demo config, the conformance fixtures and two
 * counting tools from `counter-tool.js`, rate limits opened wide so inputs reach the deep stages),
 * driven over keep-alive HTTP (undici) or, for framing mutations, a raw socket. `run(input)` turns
 * a symbolic `FuzzInput` into a request, sends it and returns every broken per-answer invariant
 * (checks.ts); `drain()` and `finish()` check the global ones:
 *
 * - every execution of a counting tool is accounted for by the oracle (oracle.ts);
 * - the session registry stays bounded, no session keeps a request id in flight once every answer
 *   is in, and the registry is empty once the fuzzer's own sessions are gone;
 * - `/healthz` and `/readyz` answer 200 at the end, the audit hash chain verifies, and
 *   `Object.prototype` is untouched.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { verifyChain } from '../../src/audit/chain.js';
import { AuditReader } from '../../src/audit/reader.js';
import { principalKey } from '../../src/auth/principal.js';
import type { Principal } from '../../src/auth/principal.js';
import { DEMO_CONFIG, ISSUER, PRINCIPALS, startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { PRINCIPAL_NAMES } from './arbitraries.js';
import type { FuzzInput, Who } from './arbitraries.js';
import { checkAnswer, checkBody, checkRaw } from './checks.js';
import { mintCredentials } from './credentials.js';
import { ExecutionOracle, executions } from './oracle.js';
import type { Confirmation } from './oracle.js';
import { sendRaw } from './socket.js';
import type { Framing } from './socket.js';
import { failureKind, firstChunk, isRecord, mirrorHeaders, mutate, serialize } from './wire.js';
import type { Answer } from './wire.js';

const COUNTER_MODULE = path.resolve(import.meta.dirname, 'counter-tool.js');
const TOOLS_YAML = `
  - name: fuzz_counter
    description: Counts its executions (fuzz oracle).
    input:
      type: object
      additionalProperties: false
      properties:
        tenantId: { type: string, maxLength: 64 }
        n: { type: integer, minimum: 0, maximum: 100 }
        note: { type: string, maxLength: 64 }
        confirm: { type: boolean }
    roles: [user, admin]
    tenantArg: tenantId
    readOnly: true
    module: { file: MODULE, export: counter }
  - name: fuzz_counter_admin
    description: Counts its executions; destructive, admins only (fuzz oracle).
    input:
      type: object
      additionalProperties: false
      required: [tenantId, confirm]
      properties:
        tenantId: { type: string, maxLength: 64 }
        n: { type: integer, minimum: 0, maximum: 100 }
        note: { type: string, maxLength: 64 }
        confirm: { type: boolean }
    roles: [admin]
    tenantArg: tenantId
    destructive: true
    module: { file: MODULE, export: counterAdmin }
`;

const wide = (n: number): string => `{ requests: ${n}, windowSec: 1 }`;
const LIMITS_YAML = `limits:
  perIp: ${wide(1e9)}
  perPrincipal: ${wide(1e9)}
  perTenant: ${wide(1e9)}
  perTool: ${wide(1e9)}
  perPrincipalTool: ${wide(1e9)}
  notificationsPerPrincipal: ${wide(1e9)}
  concurrentPerPrincipal: 100000
  concurrentPerSession: 100000`;

export interface FuzzTargetOptions {
  /** Keep-alive connections to the gateway. */
  connections?: number;
  /** Request timeout; an answer slower than this is a violation. */
  timeoutMs?: number;
}

export interface FuzzTarget {
  readonly tg: TestGateway;
  /** Count per answer status (plus `client_rejected`, `socket_error`, `timeout`). */
  readonly statuses: Map<string, number>;
  /** Inputs sent so far. */
  readonly sent: () => number;
  /** Sends one input; returns the per-answer invariants it broke (empty when none). */
  run(input: FuzzInput): Promise<string[]>;
  /** Checks the global invariants on what has happened so far; `final` waits up to `waitMs` for stragglers. */
  drain(final?: boolean, waitMs?: number): Promise<string[]>;
  /** End-of-run checks (health, sessions, prototype), then the final drain. */
  finish(): Promise<string[]>;
  /** Executions of the counting tools seen so far. */
  readonly executed: () => number;
  /** 2026 confirmation round trips: `input_required` answers, and runs a user's answer confirmed. */
  readonly confirmations: () => { asked: number; confirmed: number };
  close(): Promise<void>;
}

interface PoolSession {
  id: string;
  alive: () => boolean;
  /** Requests the gateway still counts as in flight on this session. */
  inflight: () => number;
  close: () => Promise<void>;
}

export async function startFuzzTarget(opts: FuzzTargetOptions = {}): Promise<FuzzTarget> {
  const confDir = mkdtempSync(path.join(tmpdir(), 'portcullis-fuzz-'));
  const demo = readFileSync(DEMO_CONFIG, 'utf8');
  if (!demo.includes('\ntools:\n')) throw new Error('the demo config has no top-level tools list');
  const configFile = path.join(confDir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    demo.replace('\ntools:\n', `\ntools:${TOOLS_YAML.replaceAll('MODULE', JSON.stringify(COUNTER_MODULE))}`),
  );
  const tg = await startGateway({ configFile, fixtures: true, extraYaml: LIMITS_YAML });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const pool = new Pool(tg.url, {
    connections: opts.connections ?? 8,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 4_000,
  });

  const tokens = await mintCredentials(tg);
  const principals = new Map<Who, Principal>(
    PRINCIPAL_NAMES.map((w) => {
      const p = PRINCIPALS[w];
      const principal: Principal = {
        issuer: ISSUER,
        user: p.sub,
        tenant: p.org,
        roles: p.roles,
        scopes: new Set(),
        expiresAt: 0,
        key: principalKey(ISSUER, p.sub, p.org),
      };
      return [w, principal];
    }),
  );

  const statuses = new Map<string, number>();
  const streamViolations: string[] = [];
  const deadIds: string[] = [];
  /** `requestState`s the gateway handed out (2026 confirmation), per principal, newest last. */
  const states = new Map<Who, { state: string; tool: unknown; args: unknown }[]>();
  let asked = 0;
  const oracle = new ExecutionOracle(path.join(tg.dir, 'audit.sqlite'));
  const pools = { streamable: new Map<Who, Promise<PoolSession>>(), sse: new Map<Who, Promise<PoolSession>>() };
  let sent = 0;
  let inFlight = 0;

  const count = (k: string): void => void statuses.set(k, (statuses.get(k) ?? 0) + 1);

  // --- sessions owned by the fuzzer -------------------------------------------------------

  async function openStreamable(who: Who): Promise<PoolSession> {
    const res = await pool.request({
      method: 'POST',
      path: '/mcp',
      headers: {
        authorization: `Bearer ${tokens.valid[who]}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } },
      }),
    });
    await res.body.text();
    const id = res.headers['mcp-session-id'];
    if (res.statusCode !== 200 || typeof id !== 'string') throw new Error(`initialize answered ${res.statusCode}`);
    const principal = principals.get(who)!;
    return {
      id,
      alive: () => tg.gateway.sessions.get(id, principal, 'streamable') !== undefined,
      inflight: () => tg.gateway.sessions.get(id, principal, 'streamable')?.inflight.size ?? 0,
      close: async () => {
        await deleteSession(id, who);
      },
    };
  }

  function openSse(who: Who): Promise<PoolSession> {
    return new Promise((resolve, reject) => {
      let open = true;
      let buffer = '';
      let id: string | undefined;
      const req: ClientRequest = httpRequest(
        `${tg.url}/mcp/sse`,
        { headers: { authorization: `Bearer ${tokens.valid[who]}`, accept: 'text/event-stream' }, agent: false },
        (res: IncomingMessage) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`GET /mcp/sse answered ${res.statusCode}`));
            return;
          }
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffer += chunk;
            let sep: number;
            while ((sep = buffer.indexOf('\n\n')) !== -1) {
              const block = buffer.slice(0, sep);
              buffer = buffer.slice(sep + 2);
              const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
              const data = block
                .split('\n')
                .filter((l) => l.startsWith('data: '))
                .map((l) => l.slice(6))
                .join('\n');
              if (event === 'endpoint' && id === undefined) {
                id = new URLSearchParams(data.slice(data.indexOf('?') + 1)).get('sessionId') ?? '';
                const principal = principals.get(who)!;
                const sid = id;
                resolve({
                  id: sid,
                  alive: () => open && tg.gateway.sessions.get(sid, principal, 'sse') !== undefined,
                  inflight: () => tg.gateway.sessions.get(sid, principal, 'sse')?.inflight.size ?? 0,
                  close: () =>
                    new Promise<void>((done) => {
                      if (!open) return done();
                      res.once('close', () => done());
                      req.destroy();
                    }),
                });
              } else if (data !== '') {
                streamViolations.push(...checkBody(data, 'application/json', undefined, '', [tg.dir, process.cwd()]));
              }
            }
          });
          res.on('close', () => {
            open = false;
            if (id !== undefined) deadIds.push(id);
          });
        },
      );
      req.on('error', (err) => {
        open = false;
        if (id === undefined) reject(err);
      });
      req.end();
    });
  }

  /** The fuzzer's live session of `who` in `era`, reopened if a fuzz input ended it. */
  async function session(era: 'streamable' | 'sse', who: Who): Promise<PoolSession> {
    const map = pools[era];
    const current = map.get(who);
    if (current) {
      const s = await current.catch(() => undefined);
      if (s?.alive()) return s;
      if (map.get(who) !== current) return session(era, who);
    }
    const next = era === 'streamable' ? openStreamable(who) : openSse(who);
    map.set(who, next);
    return next;
  }

  async function deleteSession(id: string, who: Who): Promise<void> {
    const res = await pool.request({
      method: 'DELETE',
      path: '/mcp',
      headers: { authorization: `Bearer ${tokens.valid[who]}`, 'mcp-session-id': id },
    });
    await res.body.dump();
    if (res.statusCode === 200) deadIds.push(id);
  }

  // --- one input ---------------------------------------------------------------------------

  async function build(input: FuzzInput): Promise<{
    method: string;
    url: string;
    headers: string[];
    body: Buffer | undefined;
    who: Who | undefined;
    admin: boolean;
    confirmation: Confirmation | undefined;
  }> {
    const cred = tokens.resolve(input.auth);
    const owner: Who = cred.who ?? 'alice';
    const other: Who = PRINCIPAL_NAMES[(PRINCIPAL_NAMES.indexOf(owner) + 1) % PRINCIPAL_NAMES.length]!;
    const headers: string[] = [];
    const add = (k: string, v: string): void => void headers.push(k, v);
    for (const a of cred.headers) add('authorization', a);

    const r = input.route;
    const sessionEra = r.kind === 'sse_message' ? 'sse' : 'streamable';
    const sessionIds = async (): Promise<string[]> => {
      switch (input.session) {
        case 'own':
          return [(await session(sessionEra, owner)).id];
        case 'dup': {
          const id = (await session(sessionEra, owner)).id;
          return [id, id];
        }
        case 'other_principal':
          return [(await session(sessionEra, other)).id];
        case 'other_era':
          return [(await session(sessionEra === 'sse' ? 'streamable' : 'sse', owner)).id];
        case 'random':
          return [createHash('sha256').update(input.sessionSeed).digest('base64url')];
        case 'garbage':
          return [input.sessionSeed === '' ? '-' : input.sessionSeed];
        case 'dead':
          return [deadIds[input.sessionSeed.length % Math.max(1, deadIds.length)] ?? 'dead'];
        case 'none':
          return [];
      }
    };

    let method = 'POST';
    let url = '/mcp';
    let withBody = true;
    switch (r.kind) {
      case 'modern':
        if (input.session !== 'own' && input.session !== 'none')
          for (const id of await sessionIds()) add('mcp-session-id', id);
        break;
      case 'streamable':
        for (const id of await sessionIds()) add('mcp-session-id', id);
        break;
      case 'sse_message': {
        const q = (await sessionIds()).map((id) => `sessionId=${encodeURIComponent(id)}`);
        url = `/mcp/messages${q.length > 0 ? `?${q.join('&')}` : ''}`;
        break;
      }
      case 'sse_open':
        method = 'GET';
        url = '/mcp/sse';
        withBody = false;
        break;
      case 'stream_get':
      case 'delete':
        method = r.kind === 'delete' ? 'DELETE' : 'GET';
        withBody = false;
        for (const id of await sessionIds()) add('mcp-session-id', id);
        break;
      case 'odd':
        method = r.method;
        url = r.path;
        withBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    }
    if (cred.query !== undefined) url += `${url.includes('?') ? '&' : '?'}access_token=${cred.query}`;

    const { message, confirmation } = withRetry(input, owner);
    mirrorHeaders({ ...input, message }, r.kind, add);
    const body = withBody ? mutate(serialize(message), input.raw) : undefined;
    const admin =
      cred.who !== undefined &&
      (input.auth === 'alice_as_admin' || PRINCIPALS[cred.who].roles.includes('admin' as never));
    return { method, url, headers, body, who: cred.who, admin, confirmation };
  }

  /** Adds a confirmation retry's `requestState` and answer to a `tools/call`, and says what it is worth. */
  function withRetry(input: FuzzInput, owner: Who): { message: unknown; confirmation: Confirmation | undefined } {
    const retry = input.retry;
    const msg = input.message;
    if (!retry || !isRecord(msg) || !isRecord(msg.params)) return { message: input.message, confirmation: undefined };
    const other = PRINCIPAL_NAMES[(PRINCIPAL_NAMES.indexOf(owner) + 2) % PRINCIPAL_NAMES.length]!;
    const list = states.get(retry.state === 'other_principal' ? other : owner) ?? [];
    const c = list[retry.pick % Math.max(1, list.length)];
    let state = c?.state ?? `made-up-${retry.pick}`;
    if (retry.state === 'flipped') {
      // A different character in the middle (the last one of base64 may carry unused bits).
      const i = Math.floor(state.length / 2);
      state = state.slice(0, i) + (state[i] === 'A' ? 'B' : 'A') + state.slice(i + 1);
    }
    if (retry.state === 'made_up') state = `${state.slice(0, 10)}${retry.pick}`;
    const params: Record<string, unknown> = {
      ...msg.params,
      requestState: state,
      inputResponses: { confirm: retry.answer },
    };
    if (retry.sameArgs && c) Object.assign(params, { name: c.tool, arguments: c.args });
    // Worth something only if the gateway minted exactly this state for this principal, tool and arguments.
    const legit = (states.get(owner) ?? []).some(
      (e) => e.state === state && e.tool === params.name && sameArgs(e.args, params.arguments),
    );
    return { message: { ...msg, params }, confirmation: { state, legit, accepts: accepts(retry.answer) } };
  }

  async function run(input: FuzzInput): Promise<string[]> {
    sent++;
    inFlight++;
    try {
      let req: Awaited<ReturnType<typeof build>>;
      try {
        req = await build(input);
      } catch (err) {
        return [`cannot prepare the request (the fuzzer's own session): ${String(err)}`];
      }
      const requestText = `${req.url}\n${req.headers.join('\n')}\n${req.body?.toString('latin1') ?? ''}`;
      if (input.framing) return await runRaw(req, input.framing, requestText);
      const answer = await send(req, input.chunked, input.abortMs);
      count(String(answer.status));
      const requestId = typeof answer.headers['x-request-id'] === 'string' ? answer.headers['x-request-id'] : '';
      if (req.body !== undefined) {
        if (requestId !== '') oracle.attribute(requestId, req.body, req.who, req.admin, req.confirmation);
        else oracle.attributeUnanswered(req.body, req.who, req.admin, req.confirmation);
        if (answer.status === 200 && req.who !== undefined) capture(req.who, req.body, answer.body);
      }
      const violations = checkAnswer(req, answer, requestText, { timeoutMs, secrets: [tg.dir, process.cwd()] });
      await cleanUp(req, answer);
      return violations;
    } finally {
      inFlight--;
    }
  }

  async function runRaw(req: Awaited<ReturnType<typeof build>>, f: Framing, requestText: string): Promise<string[]> {
    const x = await sendRaw(tg.port, req, f, 3_000);
    const first = x.responses[0];
    count(first ? `raw ${first.status}` : x.timedOut ? 'raw timeout' : 'raw closed');
    const requestId = first?.headers['x-request-id'];
    if (req.body !== undefined) {
      if (requestId !== undefined) oracle.attribute(requestId, req.body, req.who, req.admin, req.confirmation);
      else oracle.attributeUnanswered(req.body, req.who, req.admin, req.confirmation);
    }
    const http1 = f.version === 'HTTP/1.1' || f.version === 'HTTP/1.0';
    const violations = checkRaw(req, x, requestText, { secrets: [tg.dir, process.cwd()], http1 });
    if (first) await cleanUp(req, first);
    return violations;
  }

  async function send(
    req: { method: string; url: string; headers: string[]; body: Buffer | undefined },
    chunked: boolean,
    abortMs: number | undefined,
  ): Promise<Answer> {
    let res;
    try {
      res = await pool.request({
        method: req.method,
        path: req.url,
        headers: req.headers,
        body: req.body === undefined ? undefined : chunked ? Readable.from([req.body]) : req.body,
        ...(abortMs !== undefined && { signal: AbortSignal.timeout(abortMs) }),
      });
    } catch (err) {
      return { status: failureKind(err), headers: {}, body: '' };
    }
    const type = String(res.headers['content-type'] ?? '');
    // Hanging up on a stream makes undici fail the body with an AbortError: expected here.
    res.body.on('error', () => undefined);
    try {
      if (type.startsWith('text/event-stream') && req.method === 'GET') {
        // A stream that stays open: read what came first, then hang up (which ends a 2024 session).
        // The 2024 stream's `endpoint` event comes at once; a 2025 standalone stream starts silent.
        const first = res.headers['mcp-session-id'] === undefined ? await firstChunk(res.body, 500) : '';
        res.body.destroy();
        return { status: res.statusCode, headers: res.headers, body: first };
      }
      return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
    } catch (err) {
      res.body.destroy();
      return { status: failureKind(err), headers: res.headers, body: '' };
    }
  }

  /** Keeps the `requestState` of an `input_required` answer, with the call it was minted for. */
  function capture(who: Who, body: Buffer, answer: string): void {
    if (!answer.includes('input_required')) return;
    try {
      const res: unknown = JSON.parse(answer);
      const sent: unknown = JSON.parse(body.toString('utf8'));
      if (!isRecord(res) || !isRecord(res.result) || typeof res.result.requestState !== 'string') return;
      if (!isRecord(sent) || !isRecord(sent.params)) return;
      const list = states.get(who) ?? [];
      list.push({ state: res.result.requestState, tool: sent.params.name, args: sent.params.arguments });
      asked++;
      if (list.length > 64) list.shift();
      states.set(who, list);
    } catch {
      // Not JSON: nothing to keep.
    }
  }

  async function cleanUp(req: { method: string; headers: string[]; who: Who | undefined }, a: Answer): Promise<void> {
    // A session the fuzzer opened by accident (an initialize that went through) is ended at once.
    const sid = a.headers['mcp-session-id'];
    if (typeof sid === 'string' && req.who !== undefined && a.status === 200 && !(await isPoolSession(sid))) {
      await deleteSession(sid, req.who);
    }
    if (req.method === 'DELETE' && a.status === 200) {
      for (let i = 0; i < req.headers.length; i += 2)
        if (req.headers[i] === 'mcp-session-id') deadIds.push(req.headers[i + 1]!);
    }
    if (deadIds.length > 64) deadIds.splice(0, deadIds.length - 64);
  }

  async function isPoolSession(id: string): Promise<boolean> {
    for (const map of [pools.streamable, pools.sse]) {
      for (const p of map.values()) if ((await p.catch(() => undefined))?.id === id) return true;
    }
    return false;
  }

  // --- global invariants -------------------------------------------------------------------

  async function drain(final = false, waitMs = 15_000): Promise<string[]> {
    const v = await oracle.drain(final, waitMs);
    const bound = 2 * PRINCIPAL_NAMES.length + 4 * (opts.connections ?? 8) + 16;
    if (tg.gateway.sessions.size > bound) v.push(`${tg.gateway.sessions.size} live sessions (bound ${bound})`);
    v.push(...streamViolations.splice(0));
    return v;
  }

  async function finish(): Promise<string[]> {
    while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
    const v: string[] = [];
    // Alive, and still able to do its job: the audit sink writable, the keys loaded.
    for (const route of ['/healthz', '/readyz']) {
      const res = await pool.request({ method: 'GET', path: route });
      await res.body.dump();
      if (res.statusCode !== 200) v.push(`${route} answered ${res.statusCode}`);
    }
    v.push(...(await drain(true)));
    // Every answer is in (2024 calls may still run after their 202): soon no session may hold a
    // request id as in flight, or it would refuse that id forever.
    for (const [era, map] of Object.entries(pools)) {
      for (const p of map.values()) {
        const s = await p.catch(() => undefined);
        const until = Date.now() + 5_000;
        while (s && s.inflight() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        if (s && s.inflight() > 0) v.push(`${era} session still holds ${s.inflight()} request ids in flight`);
      }
    }
    for (const map of [pools.streamable, pools.sse]) {
      for (const p of map.values()) await (await p.catch(() => undefined))?.close();
      map.clear();
    }
    const deadline = Date.now() + 10_000;
    while (tg.gateway.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (tg.gateway.sessions.size > 0)
      v.push(`${tg.gateway.sessions.size} sessions left after the fuzzer closed its own`);
    // Hostile strings (lone surrogates, controls, huge ids) reached the trail: its hash chain still verifies.
    const reader = AuditReader.open(path.join(tg.dir, 'audit.sqlite'));
    try {
      for (const instance of reader.instances()) {
        const verdict = verifyChain(reader.chain(instance));
        if (!verdict.ok)
          v.push(`audit chain of ${instance} broken: ${verdict.reason} at seq ${verdict.seq}: ${verdict.detail}`);
      }
    } finally {
      reader.close();
    }
    if (Object.keys(Object.prototype).length > 0)
      v.push(`Object.prototype polluted: ${Object.keys(Object.prototype).join(',')}`);
    return v;
  }

  return {
    tg,
    statuses,
    sent: () => sent,
    executed: () => executions().length,
    confirmations: () => ({ asked, confirmed: oracle.userConfirmed }),
    run,
    drain,
    finish,
    close: async () => {
      for (const map of [pools.streamable, pools.sse]) {
        for (const p of map.values()) await (await p.catch(() => undefined))?.close().catch(() => undefined);
      }
      await pool.close();
      await tg.close();
      rmSync(confDir, { recursive: true, force: true });
    },
  };
}

/** Same arguments once the gateway has bound the tenant (which it sets to the caller's own). */
function sameArgs(a: unknown, b: unknown): boolean {
  const strip = (v: unknown): unknown => {
    if (!isRecord(v)) return v;
    const { tenantId: _t, ...rest } = v;
    return rest;
  };
  return canonical(strip(a)) === canonical(strip(b));
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isRecord(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

/** An `ElicitResult` that allows: accept, with `confirm: true`. */
function accepts(answer: unknown): boolean {
  return isRecord(answer) && answer.action === 'accept' && isRecord(answer.content) && answer.content.confirm === true;
}
