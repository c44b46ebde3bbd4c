/* global console, fetch, process */
// `node bench/profile.mjs [--scenario pc-2026-hs256] [--duration 10] [--connections 32] [--top 40] [--no-prof]`:
// one Portcullis scenario under the bench's load, with `node --cpu-prof`; prints calls/s, server
// CPU per call and, per thread (the gateway and its audit writer), where the CPU went: self time
// by function and by source file. The .cpuprofile files are kept (path printed) for DevTools.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { load, openSession, preflight } from './lib/load.mjs';
import { ROOT, SCENARIOS, prepareGateway } from './lib/portcullis.mjs';
import { cpuMs, freePort, startServer, stopServer } from './lib/procs.mjs';

const { values: opt } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'pc-2026-hs256' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    top: { type: 'string', default: '40' },
    extra: { type: 'string' },
    'no-prof': { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
  },
});
const scenario = SCENARIOS[opt.scenario];
if (!scenario) throw new Error(`--scenario: one of ${Object.keys(SCENARIOS).join(', ')}`);
const s = { name: opt.scenario, ...scenario, kind: 'portcullis' };
const profDir = mkdtempSync(path.join(tmpdir(), 'portcullis-prof-'));
s.port = await freePort();
s.url = `http://127.0.0.1:${s.port}/mcp`;
// `--extra '{"audit":{...}}'`: top-level config keys merged over the bench config (experiments).
const extra = opt.extra ? JSON.parse(opt.extra) : {};
const g = await prepareGateway(s, s.port);
if (opt.extra) {
  const { parse, stringify } = await import('yaml');
  const { writeFileSync } = await import('node:fs');
  const cfg = parse(readFileSync(g.file, 'utf8'));
  for (const [k, v] of Object.entries(extra)) cfg[k] = typeof v === 'object' && v ? { ...cfg[k], ...v } : v;
  writeFileSync(g.file, stringify(cfg));
}
Object.assign(s, { token: g.token, expectTools: g.visibleTools });
s.child = await startServer(s.name, [path.join(ROOT, 'bench/servers/portcullis.mjs'), g.file, String(s.port)], {
  cwd: g.dir,
  readyUrl: `http://127.0.0.1:${s.port}/healthz`,
  readyStatus: 200,
  nodeFlags: [
    ...opt['node-flags'].split(' ').filter(Boolean),
    ...(opt['no-prof'] ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`]),
  ],
});
if (s.era === 'session') await openSession(s);
await preflight(s);
const connections = Number(opt.connections);
await load(s, { connections, duration: Number(opt.warmup) });
const c0 = await cpuMs(s.child);
const m0 = mainThreadMs(s.child.proc.pid);
const t0 = threadsMs(s.child.proc.pid);
const r = await load(s, { connections, duration: Number(opt.duration) });
const c1 = await cpuMs(s.child);
const m1 = mainThreadMs(s.child.proc.pid);
const t1 = threadsMs(s.child.proc.pid);
const metrics = await (
  await fetch(`http://127.0.0.1:${s.port}/metrics`, { headers: { authorization: `Bearer ${s.token}` } })
).text();
const metric = (name) => Number(metrics.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1] ?? NaN);
const batches = metric('portcullis_audit_write_duration_seconds_count');
const events = metric('portcullis_audit_events_written_total');
const writeS = metric('portcullis_audit_write_duration_seconds_sum');
await stopServer(s.child, 10_000);
rmSync(g.dir, { recursive: true, force: true });
if (opt['no-prof']) rmSync(profDir, { recursive: true, force: true });
console.log(
  `${s.name}: ${Math.round(r.callsPerSec)} calls/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ` +
    `${(((c1 - c0) * 1000) / r.ok).toFixed(0)} µs CPU/call (main thread ${(((m1 - m0) * 1000) / r.ok).toFixed(0)}), ` +
    `errors ${r.errors}, non-2xx ${r.non2xx}`,
);
const perThread = new Map();
for (const [tid, { name, ms }] of t1) {
  const d = ms - (t0.get(tid)?.ms ?? 0);
  if (d > 0) perThread.set(name, (perThread.get(name) ?? 0) + d);
}
console.log(
  `threads (µs CPU/call): ${[...perThread].map(([n, ms]) => `${n} ${((ms * 1000) / r.ok).toFixed(1)}`).join(', ')}`,
);
console.log(
  `audit (whole run): ${events} events in ${batches} batches, ${(events / batches).toFixed(1)} events/batch, ` +
    `${((writeS / batches) * 1000).toFixed(2)} ms mean batch write`,
);

/** CPU time (ms) of the process's main thread (its tid is its pid), from /proc (Linux). */
function mainThreadMs(pid) {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(stat[11]) + Number(stat[12])) * 1000) / 100;
}

/** CPU time (ms) and name of every thread of the process. */
function threadsMs(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const raw = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'main' : `${raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'))}#${tid}`;
      const stat = raw.slice(raw.lastIndexOf(') ') + 2).split(' ');
      out.set(tid, { name, ms: ((Number(stat[11]) + Number(stat[12])) * 1000) / 100 });
    } catch {
      // the thread ended
    }
  }
  return out;
}

const top = Number(opt.top);
for (const f of readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'))) {
  const prof = JSON.parse(readFileSync(path.join(profDir, f), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()]
    .filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id).callFrame.functionName))
    .reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const fns = new Map();
  const files = new Map();
  for (const [id, t] of self) {
    const cf = byId.get(id).callFrame;
    if (cf.functionName === '(idle)') continue;
    const file = cf.url ? cf.url.replace(/^file:\/\//, '').replace(ROOT, '') : '(native)';
    const short = file.replace(/.*node_modules\//, 'nm:');
    const fn = `${cf.functionName || '(anonymous)'} ${short}:${cf.lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + t);
    const group = short.startsWith('nm:')
      ? short
          .split('/')
          .slice(0, short.startsWith('nm:@') ? 2 : 1)
          .join('/')
      : short;
    files.set(group, (files.get(group) ?? 0) + t);
  }
  const pct = (t) => `${((t / busy) * 100).toFixed(1).padStart(5)} %`;
  console.log(
    `\n== ${f}: ${(total / 1e6).toFixed(1)} s sampled, busy ${(busy / 1e6).toFixed(1)} s (${((busy / total) * 100).toFixed(0)} %)`,
  );
  console.log('-- self time by file (share of busy)');
  for (const [k, t] of [...files].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${k}`);
  console.log('-- self time by function');
  for (const [k, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${k}`);
}
console.log(`\nprofiles: ${profDir}`);
process.exit(0);
