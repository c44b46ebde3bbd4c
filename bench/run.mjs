/* global console, fetch, process */
// `npm run bench`: every server in its own child process on loopback, loaded in alternation
// (A B C … A B C …) by autocannon from this process; then the scale measurements; then the
// table, bench/results/latest.md and bench/results/latest.svg. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { load, openSession, preflight } from './lib/load.mjs';
import { ROOT, SCENARIOS, prepareGateway } from './lib/portcullis.mjs';
import { cpuMs, freePort, startServer, stopAll } from './lib/procs.mjs';
import { machineBusyMs, machineBusyPct, machineFacts, sseTtfb } from './lib/stats.mjs';
import { writeReport } from './lib/report.mjs';
import { summarize } from './lib/summary.mjs';

const env = process.env;
const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: env.BENCH_DURATION ?? '5' },
    warmup: { type: 'string', default: env.BENCH_WARMUP ?? '1' },
    runs: { type: 'string', default: env.BENCH_RUNS ?? '3' },
    connections: { type: 'string', default: env.BENCH_CONNECTIONS ?? '32' },
    only: { type: 'string' },
    sessions: { type: 'string', default: env.BENCH_SESSIONS ?? '10000' },
    cycles: { type: 'string', default: env.BENCH_CYCLES ?? '50000' },
    'no-scale': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(`usage: npm run bench -- [--duration S] [--warmup S] [--runs N] [--connections N]
       [--only raw,pc-2026-hs256,…] [--sessions N] [--cycles N] [--no-scale] [--no-build]
env:   BENCH_DURATION BENCH_WARMUP BENCH_RUNS BENCH_CONNECTIONS BENCH_SESSIONS BENCH_CYCLES`);
  process.exit(0);
}
const duration = Number(opt.duration);
const warmup = Number(opt.warmup);
const runs = Number(opt.runs);
const connections = Number(opt.connections);
for (const [k, v] of Object.entries({ duration, warmup, runs, connections })) {
  if (!(v >= 0) || (k !== 'warmup' && v === 0)) throw new Error(`--${k}: not a positive number`);
}

/** The servers, in alternation order. References first; `era` says how they are called. */
const REFERENCES = {
  raw: { label: 'raw node:http JSON-RPC (floor)', era: 'modern', kind: 'floor' },
  'sdk-v1-express': { label: 'SDK v1 + Express (sessions)', era: 'session', kind: 'reference' },
  'sdk-v2': { label: 'SDK v2 createMcpHandler (2026)', era: 'modern', kind: 'reference' },
  fastmcp: { label: 'FastMCP httpStream (sessions)', era: 'session', kind: 'reference' },
};
const all = [
  ...Object.entries(REFERENCES).map(([name, r]) => ({ name, ...r, method: 'tools/call' })),
  ...Object.entries(SCENARIOS).map(([name, s]) => ({ name, ...s, kind: 'portcullis' })),
];
const wanted = opt.only?.split(',').map((s) => s.trim());
const unknown = wanted?.filter((w) => !all.some((s) => s.name === w)) ?? [];
if (unknown.length)
  throw new Error(`--only: unknown server(s) ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`);
const servers = wanted ? all.filter((s) => wanted.includes(s.name)) : all;

const say = (s) => process.stderr.write(`${s}\n`);
const started = Date.now();
const build = ensureBuild();
const facts = { ...machineFacts(ROOT), build };
say(
  `bench: ${servers.length} servers × ${runs} runs × (${warmup} s warm-up + ${duration} s), ${connections} connections`,
);
facts.busyBeforePct = await machineBusyPct(1000);
say(
  `bench: node ${facts.node}, ${facts.cpu}, ${facts.cores} cores; ` +
    `CPU in use before start: ${facts.busyBeforePct?.toFixed(0) ?? '?'} % of one core`,
);

const tempDirs = [];
process.on('exit', () => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
try {
  for (const s of servers) await start(s);
  const results = Object.fromEntries(servers.map((s) => [s.name, []]));
  const ours = async () => (process.cpuUsage().user + process.cpuUsage().system) / 1000 + (await childrenCpu());
  const [busy0, ours0, wall0] = [machineBusyMs(), await ours(), Date.now()];
  for (let round = 1; round <= runs; round++) {
    for (const s of servers) {
      if (warmup > 0) await load(s, { connections, duration: warmup });
      const c0 = await cpuMs(s.child);
      const r = await load(s, { connections, duration });
      const c1 = await cpuMs(s.child);
      r.cpuUsPerCall = c0 === null || c1 === null || r.ok === 0 ? null : ((c1 - c0) * 1000) / r.ok;
      r.valid = r.errors === 0 && r.non2xx === 0 && r.timeouts === 0 && r.ok > 0;
      results[s.name].push(r);
      const flag = r.valid ? '' : `  ✗ INVALID: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.timeouts} timeouts`;
      say(
        `  run ${round}/${runs} ${s.name.padEnd(16)} ${Math.round(r.callsPerSec).toString().padStart(7)} calls/s` +
          `  p50 ${r.p50} ms  p99 ${r.p99} ms${flag}`,
      );
    }
  }
  const [busy1, ours1] = [machineBusyMs(), await ours()];
  if (busy0 !== null) facts.foreignPct = ((busy1 - busy0 - (ours1 - ours0)) / (Date.now() - wall0)) * 100;
  const ttfbTarget = servers.find((s) => s.name === 'pc-2026-hs256');
  let ttfb = null;
  if (ttfbTarget) {
    ttfb = await sseTtfb(ttfbTarget.port, ttfbTarget.token);
    say(`  SSE time to first byte: median ${ttfb.medianMs.toFixed(2)} ms`);
  }
  for (const s of servers.filter((x) => x.kind === 'portcullis')) s.audit = await auditStats(s);
  await stopAll();
  const scale = opt['no-scale'] ? null : await runScale();
  facts.loadavgEnd = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const summary = summarize({ servers, results, scale, ttfb, facts, opt: { duration, warmup, runs, connections } });
  const files = writeReport(summary, path.join(ROOT, 'bench/results'));
  say(`\nbench: done in ${Math.round((Date.now() - started) / 1000)} s; wrote ${files.join(', ')}`);
  if (summary.invalidRuns > 0) {
    say(`bench: ✗ ${summary.invalidRuns} run(s) had errors or non-2xx answers and were left out of the medians`);
    process.exitCode = 1;
  }
} catch (err) {
  say(`bench: ${err.message}`);
  await stopAll();
  process.exitCode = 1;
}

/** The gateway's audit batches so far, from its /metrics (null if unavailable). */
async function auditStats(s) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    const metric = (name) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
    const audit = {
      batches: metric('portcullis_audit_write_duration_seconds_count'),
      events: metric('portcullis_audit_events_written_total'),
      seconds: metric('portcullis_audit_write_duration_seconds_sum'),
    };
    return Object.values(audit).every(Number.isFinite) ? audit : null;
  } catch {
    return null;
  }
}

async function childrenCpu() {
  let ms = 0;
  for (const s of servers) ms += (await cpuMs(s.child)) ?? 0;
  return ms;
}

/** Starts one server, opens its session if it has one, and checks one call end to end. */
async function start(s) {
  s.port = await freePort();
  s.url = `http://127.0.0.1:${s.port}/mcp`;
  const t0 = Date.now();
  if (s.kind === 'portcullis') {
    const g = await prepareGateway(s, s.port);
    tempDirs.push(g.dir);
    Object.assign(s, { token: g.token, expectTools: g.visibleTools });
    s.child = await startServer(s.name, [path.join(ROOT, 'bench/servers/portcullis.mjs'), g.file, String(s.port)], {
      cwd: g.dir,
      readyUrl: `http://127.0.0.1:${s.port}/healthz`,
      readyStatus: 200,
    });
  } else {
    s.child = await startServer(s.name, [path.join(ROOT, `bench/servers/${s.name}.mjs`), String(s.port)], {
      cwd: ROOT,
      readyUrl: s.url,
    });
  }
  if (s.era === 'session') await openSession(s);
  await preflight(s);
  say(`  started ${s.name} on port ${s.port} (${Date.now() - t0} ms)`);
}

/** The scale measurements, in a child `node --expose-gc` that hosts the gateway itself. */
function runScale() {
  say('bench: scale measurements (gateway in the measuring process, --expose-gc)');
  const args = ['--expose-gc', 'bench/scale.mjs', '--sessions', opt.sessions, '--cycles', opt.cycles];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (c) => (out += c));
    process.on('exit', () => proc.kill('SIGKILL'));
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`bench/scale.mjs exited with code ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        reject(new Error(`bench/scale.mjs printed no result: ${out.slice(0, 300)}`));
      }
    });
  });
}

/** Builds dist/ when it is missing or older than src/; a failed build with a dist/ is a warning. */
function ensureBuild() {
  if (opt['no-build']) return 'skipped (--no-build)';
  const newest = (dir) =>
    readdirSync(dir, { recursive: true }).reduce((m, f) => Math.max(m, statSync(path.join(dir, f)).mtimeMs), 0);
  const dist = path.join(ROOT, 'dist/gateway.js');
  const stale = !existsSync(dist) || newest(path.join(ROOT, 'src')) > newest(path.join(ROOT, 'dist'));
  if (!stale) return 'dist/ up to date';
  say('bench: dist/ is missing or older than src/; running npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status === 0) return 'rebuilt';
  if (!existsSync(dist)) {
    say('bench: npm run build failed and there is no dist/ to benchmark');
    process.exit(1);
  }
  say('bench: ✗ npm run build failed; benchmarking the existing dist/ (see the report header)');
  return 'BUILD FAILED: measured a stale dist/';
}
