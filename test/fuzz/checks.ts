/**
 * Per-answer invariants (SECURITY.md §0): no 5xx but RC-20 (500, `-32603`, "Internal error (ref
 * <X-Request-Id>)", no `data`); no stack frame, file or module path, or error class name in an
 * answer unless the request itself carried it; the correlation id and `nosniff` on every answer
 * the gateway makes; `WWW-Authenticate` on 401; no 2xx on an MCP route without a valid principal.
 */
import type { RawExchange } from './socket.js';
import { isRecord } from './wire.js';
import type { Answer } from './wire.js';

const MCP_PATHS = new Set(['/mcp', '/mcp/sse', '/mcp/messages']);
const ALLOWED_STATUS = new Set([200, 202, 204, 400, 401, 403, 404, 405, 406, 409, 413, 415, 429, 431, 500]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Signs of internals: stack frames, module and file paths, error class names. */
const LEAKS = [
  /node:internal/g,
  /node_modules/g,
  /file:\/\//g,
  /\/(?:work|home|root|tmp|usr|var|src|test)\/[\w.-]/g,
  /\w\.(?:ts|js|mjs|cjs):\d+/g,
  /\bat (?:async )?[\w$.<>]+ \(/g,
  /\b(?:Type|Range|Syntax|Reference)Error\b/g,
];

export interface SentRequest {
  method: string;
  url: string;
  body: Buffer | undefined;
  /** The principal the credentials name, if they are valid. */
  who: string | undefined;
}

/**
 * Violations on a raw connection. Answers Node's parser gives itself (400, 431, no correlation id)
 * are fine; 505 is the gateway's answer to a request line that is not HTTP/1.x. Bytes left over
 * after the first request (a short Content-Length) must never earn a 2xx.
 */
export function checkRaw(
  req: SentRequest,
  x: RawExchange,
  requestText: string,
  ctx: { secrets: readonly string[]; http1: boolean },
): string[] {
  const v: string[] = [];
  const where = `raw ${req.method} ${req.url.slice(0, 80)}`;
  x.responses.forEach((r, i) => {
    const rid = r.headers['x-request-id'] ?? '';
    if (r.status >= 500 && !(r.status === 505 && !ctx.http1)) {
      const err = parseError(r.body);
      if (r.status !== 500 || err?.code !== -32603 || !err.message.includes(`(ref ${rid})`) || err.hasData) {
        v.push(`${where}: ${r.status} that is not RC-20: ${r.body.slice(0, 200)}`);
      }
    }
    const pathOnly = req.url.split('?')[0] ?? '';
    if (r.status < 300 && (i > 0 || (MCP_PATHS.has(pathOnly) && req.who === undefined))) {
      v.push(`${where}: ${r.status} for ${i > 0 ? `left-over bytes (response ${i + 1})` : 'no valid principal'}`);
    }
  });
  for (const re of [...LEAKS, ...ctx.secrets.map((s) => new RegExp(escapeRe(s), 'g'))]) {
    for (const m of x.text.matchAll(re)) {
      if (!requestText.includes(m[0])) v.push(`${where}: answer leaks ${JSON.stringify(m[0])}`);
    }
  }
  return v;
}

/** Violations in one answer; `requestText` is what the request carried (echoes are not leaks). */
export function checkAnswer(
  req: SentRequest,
  a: Answer,
  requestText: string,
  ctx: { timeoutMs: number; secrets: readonly string[] },
): string[] {
  const v: string[] = [];
  const where = `${req.method} ${req.url.slice(0, 80)}`;
  if (a.status === 'timeout') return [`${where}: no answer within ${ctx.timeoutMs} ms`];
  // The gateway may drop a connection whose body it refuses to read; undici cannot send some inputs.
  if (typeof a.status !== 'number') return v;
  // RC-11: Node's HTTP parser refuses oversized headers itself, before the gateway sees the request.
  if (a.status === 431) return v;
  const requestId = a.headers['x-request-id'];
  if (typeof requestId !== 'string' || !UUID.test(requestId)) v.push(`${where}: no X-Request-Id`);
  if (a.headers['x-content-type-options'] !== 'nosniff') v.push(`${where}: no nosniff`);
  if (!ALLOWED_STATUS.has(a.status)) v.push(`${where}: unexpected status ${a.status}`);
  const rid = typeof requestId === 'string' ? requestId : '';
  if (a.status >= 500) {
    const err = parseError(a.body);
    if (a.status !== 500 || err?.code !== -32603 || !err.message.includes(`(ref ${rid})`) || err.hasData) {
      v.push(`${where}: ${a.status} that is not RC-20: ${a.body.slice(0, 200)}`);
    }
  }
  const pathOnly = req.url.split('?')[0] ?? '';
  if (MCP_PATHS.has(pathOnly) && a.status < 300 && req.who === undefined) {
    v.push(`${where}: ${a.status} without a valid principal`);
  }
  if (a.status === 401 && a.headers['www-authenticate'] === undefined) v.push(`${where}: 401 without WWW-Authenticate`);
  const type = typeof a.headers['content-type'] === 'string' ? a.headers['content-type'] : undefined;
  v.push(...checkBody(a.body, type, rid, requestText, ctx.secrets).map((m) => `${where}: ${m}`));
  return v;
}

/** Leaks and RC-20 shape of one answer body (a JSON body, or the `data:` lines of an SSE body). */
export function checkBody(
  body: string,
  type: string | undefined,
  requestId: string | undefined,
  requestText: string,
  secrets: readonly string[],
): string[] {
  const v: string[] = [];
  for (const re of [...LEAKS, ...secrets.map((s) => new RegExp(escapeRe(s), 'g'))]) {
    for (const m of body.matchAll(re)) {
      if (!requestText.includes(m[0])) v.push(`answer leaks ${JSON.stringify(m[0])}: ${body.slice(0, 300)}`);
    }
  }
  const texts =
    type?.startsWith('text/event-stream') === true
      ? body
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
      : type?.startsWith('application/json') === true && body !== ''
        ? [body]
        : [];
  for (const t of texts) {
    let msg: unknown;
    try {
      msg = JSON.parse(t);
    } catch {
      if (!t.startsWith('/mcp/messages?sessionId=')) v.push(`answer is not JSON: ${t.slice(0, 200)}`);
      continue;
    }
    const err = errorOf(msg);
    if (err?.code === -32603 && (!/\(ref [0-9a-f-]{36}\)/.test(err.message) || err.hasData)) {
      v.push(`-32603 without a correlation id, or with data: ${t.slice(0, 200)}`);
    }
    if (err?.code === -32603 && requestId !== undefined && !err.message.includes(requestId)) {
      v.push(`-32603 whose ref is not the X-Request-Id: ${t.slice(0, 200)}`);
    }
  }
  return v;
}

function parseError(body: string): { code: unknown; message: string; hasData: boolean } | undefined {
  try {
    return errorOf(JSON.parse(body));
  } catch {
    return undefined;
  }
}

function errorOf(msg: unknown): { code: unknown; message: string; hasData: boolean } | undefined {
  if (!isRecord(msg) || !isRecord(msg.error)) return undefined;
  const e = msg.error;
  return { code: e.code, message: typeof e.message === 'string' ? e.message : '', hasData: 'data' in e };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
