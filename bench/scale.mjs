/* global Buffer, global, performance, process */
// Scale measurements, run by bench/run.mjs as `node --expose-gc bench/scale.mjs` (or by hand).
// The gateway runs IN this process so its heap can be read after a forced GC:
//   1. heap per idle 2025-era session with N sessions open (initialize + initialized, then idle);
//   2. heap after M session open/DELETE cycles vs before;
//   3. audit events/s with durability: commit() in tight concurrent loops on a SQLite trail.
// Prints progress on stderr and one JSON line on stdout.
import http from 'node:http';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createGateway } from '../dist/gateway.js';
import { loadConfigFile } from '../dist/config/load.js';
import { createAuditTrail } from '../dist/audit/trail.js';
import { createLogger } from '../dist/observability/log.js';
import { PRINCIPAL, SCENARIOS, prepareGateway } from './lib/portcullis.mjs';
import { freePort } from './lib/procs.mjs';
import { LEGACY } from './lib/load.mjs';

const { values: opt } = parseArgs({
  options: {
    sessions: { type: 'string', default: '10000' },
    cycles: { type: 'string', default: '50000' },
    'audit-seconds': { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
  },
});
if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');
const log = (s) => process.stderr.write(`  scale: ${s}\n`);
const N = Number(opt.sessions);
const M = Number(opt.cycles);
const C = Number(opt.concurrency);

const port = await freePort();
const prepared = await prepareGateway(SCENARIOS['pc-2025-session'], port);
const config = loadConfigFile(prepared.file);
const logger = createLogger('warn');
const gateway = await createGateway(config, { logger });
await gateway.listen();
const agent = new http.Agent({ keepAlive: true, maxSockets: C });
const base = { authorization: `Bearer ${prepared.token}`, accept: 'application/json, text/event-stream' };

function request(method, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/mcp', method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'scale', version: '1' } },
});
const INITIALIZED = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });
const json = { ...base, 'content-type': 'application/json' };

async function openSession() {
  const r = await request('POST', json, INIT);
  const sid = r.headers['mcp-session-id'];
  if (r.status !== 200 || !sid) throw new Error(`initialize: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  const n = await request('POST', { ...json, 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY }, INITIALIZED);
  if (n.status !== 202) throw new Error(`notifications/initialized: HTTP ${n.status} ${n.body.slice(0, 200)}`);
  return sid;
}

async function closeSession(sid) {
  const r = await request('DELETE', { ...base, 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY });
  if (r.status !== 200) throw new Error(`DELETE: HTTP ${r.status} ${r.body.slice(0, 200)}`);
}

/** Runs `task(i)` for i < n with C workers. */
async function pool(n, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

/** Memory after the audit queue is written and a full GC. */
async function settled() {
  await gateway.audit.flush?.();
  for (let i = 0; i < 4; i++) {
    global.gc();
    await sleep(50);
  }
  return process.memoryUsage();
}

const kb = (b) => Math.round(b / 102.4) / 10;

// Warm-up: JIT, lazy structures, the token cache.
await pool(1000, async () => closeSession(await openSession()));
const m0 = await settled();
log(`baseline heap ${kb(m0.heapUsed)} KB; opening ${N} sessions`);
const sids = new Array(N);
let t = performance.now();
await pool(N, async (i) => {
  sids[i] = await openSession();
});
const openSecs = (performance.now() - t) / 1000;
const m1 = await settled();
const open = gateway.sessions.size ?? N;
const perSession = {
  sessions: N,
  registrySize: open,
  heapBytesPerSession: Math.round((m1.heapUsed - m0.heapUsed) / N),
  rssBytesPerSession: Math.round((m1.rss - m0.rss) / N),
  externalBytesPerSession: Math.round((m1.external + m1.arrayBuffers - m0.external - m0.arrayBuffers) / N),
  opensPerSec: Math.round(N / openSecs),
};
log(`${N} sessions: ${perSession.heapBytesPerSession} B heap/session; closing them`);
await pool(N, (i) => closeSession(sids[i]));
sids.length = 0;

const m2 = await settled();
log(`churn: ${M} open/DELETE cycles from heap ${kb(m2.heapUsed)} KB`);
t = performance.now();
await pool(M, async () => closeSession(await openSession()));
const churnSecs = (performance.now() - t) / 1000;
const m3 = await settled();
const churn = {
  cycles: M,
  heapBeforeBytes: m2.heapUsed,
  heapAfterBytes: m3.heapUsed,
  heapDeltaPct: ((m3.heapUsed - m2.heapUsed) / m2.heapUsed) * 100,
  heapVsStartPct: ((m3.heapUsed - m0.heapUsed) / m0.heapUsed) * 100,
  rssBeforeBytes: m2.rss,
  rssAfterBytes: m3.rss,
  cyclesPerSec: Math.round(M / churnSecs),
  sessionsLeftOpen: gateway.sessions.size ?? null,
};
log(`churn: heap ${kb(m2.heapUsed)} → ${kb(m3.heapUsed)} KB (${churn.heapDeltaPct.toFixed(1)} %)`);
await gateway.close();
agent.destroy();

// Audit: the trail alone, the gateway's SQLite sink and group commit, durability on.
async function auditRate(concurrency, seconds) {
  const trail = await createAuditTrail(config.audit, { logger });
  const event = {
    event: 'tool.called',
    requestId: 'bench',
    issuer: 'urn:portcullis:dev',
    user: PRINCIPAL.sub,
    tenant: PRINCIPAL.org,
    roles: PRINCIPAL.roles,
    ip: '127.0.0.1',
    transport: 'modern',
    method: 'tools/call',
    tool: 'echo',
    arguments: { text: 'hello' },
    outcome: 'ok',
    latencyMs: 0.1,
  };
  let committed = 0;
  const stopAt = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < stopAt) {
        await trail.commit(event);
        committed++;
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  const stats = trail.stats?.();
  await trail.close();
  return {
    concurrency,
    eventsPerSec: Math.round(committed / secs),
    committed,
    batches: stats?.batches ?? null,
    failedBatches: stats?.failedBatches ?? null,
  };
}
const secs = Number(opt['audit-seconds']);
const audit = [await auditRate(32, secs), await auditRate(256, secs)];
for (const a of audit) log(`audit: ${a.eventsPerSec} events/s at ${a.concurrency} concurrent commits`);

rmSync(prepared.dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ perSession, churn, audit })}\n`);
