/* global fetch */
// The load: autocannon with unique JSON-RPC ids (setupRequest), either 2026-07-28 stateless
// requests (headers + `_meta` on every call) or 2025-era calls inside one initialized session.
import autocannon from 'autocannon';

export const MODERN = '2026-07-28';
export const LEGACY = '2025-06-18';
const META = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
const ACCEPT = 'application/json, text/event-stream';
const TEXT = 'hello';

/** The JSON-RPC message of one call (`id` unique per request). */
function message(target, id) {
  const params = target.method === 'tools/list' ? {} : { name: 'echo', arguments: { text: TEXT } };
  if (target.era === 'modern') params._meta = META;
  return JSON.stringify({ jsonrpc: '2.0', id, method: target.method, params });
}

function headers(target) {
  const h = { 'content-type': 'application/json', accept: ACCEPT };
  if (target.token) h.authorization = `Bearer ${target.token}`;
  if (target.era === 'modern') {
    Object.assign(h, { 'mcp-protocol-version': MODERN, 'mcp-method': target.method });
    if (target.method === 'tools/call') h['mcp-name'] = 'echo';
  } else if (target.era === 'session') {
    Object.assign(h, { 'mcp-protocol-version': LEGACY, 'mcp-session-id': target.sessionId });
  }
  return h;
}

/** Opens a 2025-era session (initialize + notifications/initialized); sets `target.sessionId`. */
export async function openSession(target) {
  const h = { 'content-type': 'application/json', accept: ACCEPT };
  if (target.token) h.authorization = `Bearer ${target.token}`;
  const init = await fetch(target.url, {
    method: 'POST',
    headers: h,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'portcullis-bench', version: '1' } },
    }),
  });
  const sid = init.headers.get('mcp-session-id');
  const text = await init.text();
  if (!init.ok || !sid) throw new Error(`${target.name}: initialize failed: HTTP ${init.status} ${text.slice(0, 300)}`);
  const note = await fetch(target.url, {
    method: 'POST',
    headers: { ...h, 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await note.text();
  if (note.status !== 202) throw new Error(`${target.name}: notifications/initialized answered HTTP ${note.status}`);
  target.sessionId = sid;
}

/**
 * One request, checked: HTTP 200 and the expected result (the echoed text, or `expectTools`
 * tools). Throws a readable error otherwise, so a server that answers 200 with a JSON-RPC error
 * never gets benchmarked.
 */
export async function preflight(target) {
  const res = await fetch(target.url, { method: 'POST', headers: headers(target), body: message(target, 1) });
  const body = await res.text();
  const fail = (why) => new Error(`${target.name}: preflight ${why}: HTTP ${res.status} ${body.slice(0, 400)}`);
  if (res.status !== 200) throw fail('not 200');
  let msg;
  try {
    msg = JSON.parse(body.startsWith('event:') || body.startsWith('data:') ? sseData(body) : body);
  } catch {
    throw fail('not JSON');
  }
  if (!msg.result || msg.id !== 1) throw fail('no result');
  if (target.method === 'tools/list') {
    const n = msg.result.tools?.length;
    if (n !== target.expectTools) throw fail(`listed ${n} tools, expected ${target.expectTools}`);
  } else if (msg.result.isError || msg.result.content?.[0]?.text !== TEXT) throw fail('wrong echo');
}

function sseData(body) {
  return body
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5))
    .join('');
}

/** A fixed-duration autocannon run; returns the figures the report uses. */
export async function load(target, { connections, duration }) {
  // Ids stay unique across the warm-up and every run on the same session.
  target.nextId ??= 1000;
  const r = await autocannon({
    url: target.url,
    connections,
    duration,
    method: 'POST',
    headers: headers(target),
    requests: [{ setupRequest: (req) => ({ ...req, body: message(target, ++target.nextId) }) }],
  });
  const ok = r['2xx'];
  return {
    callsPerSec: ok / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    bytesPerCall: r.requests.total ? r.throughput.total / r.requests.total : 0,
    ok,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: r.statusCodeStats,
  };
}
