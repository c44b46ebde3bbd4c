#!/usr/bin/env node
/* global console, process, TextEncoder, URL, setTimeout, clearTimeout */
/**
 * Runs the official MCP conformance suite (@modelcontextprotocol/conformance, pinned in
 * test/conformance/package.json) against a real in-process gateway, on both wires it serves:
 * the 2025-11-25 session wire and the 2026-07-28 stateless wire.
 *
 *   gateway (127.0.0.1:G, demo config + fixtures)  ←  bearer shim (127.0.0.1:S)  ←  conformance CLI
 *
 * The suite cannot send an `Authorization` header, and every MCP request to the gateway must carry
 * a bearer token, so a small loopback shim forwards each request unchanged (method, path, query,
 * every header including Host and Origin, streamed body) and only adds `Authorization: Bearer …`
 * when the request has none. Responses (SSE included) stream back unbuffered.
 *
 * Needs `npm run build` first (imports ../dist). Exit 0 only if every scenario passed, counting
 * the accepted baseline in test/conformance/expected-failures.yaml. See test/conformance/README.md.
 *
 * Options (all optional): --scenario NAME (only the runs of that scenario), --wire 2025-11-25|2026-07-28
 * (only the runs on that wire), --verbose (print every request the shim forwarded and the suite's whole
 * output), --serve (start gateway + shim, print the suite's command lines, wait for Ctrl-C).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '..');
const HARNESS = path.join(ROOT, 'test/conformance');
const NODE_BIN = path.join(HARNESS, 'node_modules/.bin/node');
const CLI_BIN = path.join(HARNESS, 'node_modules/.bin/conformance');
const CLI_JS = path.join(HARNESS, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const BASELINE = path.join(HARNESS, 'expected-failures.yaml');
const DEMO_CONFIG = path.join(ROOT, 'examples/demo/portcullis.yaml');

const ISSUER = 'urn:portcullis:dev';
const SECRET = `conformance-${Date.now()}-0123456789abcdef0123456789abcdef`;
const WIRE_2025 = '2025-11-25';
const WIRE_2026 = '2026-07-28';

/** What runs, in order. Each run pins its wire with --spec-version (notes §7.1). */
const RUNS = [
  { scenario: 'server-initialize', wire: WIRE_2025 },
  { scenario: 'server-session-lifecycle', wire: WIRE_2025 },
  { scenario: 'ping', wire: WIRE_2025 },
  { scenario: 'logging-set-level', wire: WIRE_2025 },
  { scenario: 'tools-list', wire: WIRE_2025 },
  { scenario: 'dns-rebinding-protection', wire: WIRE_2025 },
  { scenario: 'server-stateless', wire: WIRE_2026 },
  { scenario: 'tools-list', wire: WIRE_2026 },
  { scenario: 'dns-rebinding-protection', wire: WIRE_2026 },
  { scenario: 'http-header-validation', wire: WIRE_2026 },
  { scenario: 'http-custom-header-server-validation', wire: WIRE_2026 },
];

/** The suite's own per-scenario timeout; the runner kills a run that outlives it by far. */
const SUITE_TIMEOUT_MS = 15_000;
const KILL_AFTER_MS = 25_000;
/** Runs not started within this budget are reported as failed, so a hang cannot stall `npm test`. */
const TOTAL_BUDGET_MS = 100_000;

const { values: opts } = parseArgs({
  options: {
    scenario: { type: 'string' },
    wire: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    serve: { type: 'boolean', default: false },
  },
});

/** Ctrl-C / SIGTERM: stop the running scenario, then clean up as on any other exit. */
const interrupt = { signal: undefined, child: undefined, wake: () => {} };
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    interrupt.signal = sig;
    interrupt.child?.kill('SIGKILL');
    interrupt.wake();
  });
}

// ---------------------------------------------------------------------------------------------
// 1. The harness's own dependencies (Node 24 + the suite), installed apart from the project's.

function ensureHarness() {
  const ok = () => existsSync(NODE_BIN) && existsSync(CLI_BIN) && existsSync(CLI_JS);
  if (!ok()) {
    console.log('conformance: installing the harness (npm ci --prefix test/conformance)…');
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['ci', '--prefix', HARNESS, '--no-audit', '--no-fund'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (r.status !== 0 || !ok()) throw new Error('npm ci --prefix test/conformance failed');
  }
  const v = spawnSync(NODE_BIN, ['--version'], { encoding: 'utf8' });
  const version = (v.stdout ?? '').trim();
  if (v.status !== 0 || !/^v(2[2-9]|[3-9]\d)\./.test(version)) {
    throw new Error(
      `${path.relative(ROOT, NODE_BIN)} --version gave ${JSON.stringify(version || v.stderr)}; ` +
        'the suite needs Node >= 22 (rm -rf test/conformance/node_modules and retry)',
    );
  }
  return version;
}

// ---------------------------------------------------------------------------------------------
// 2. The gateway, in-process, from the demo config with the fixture tools.

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function writeConfig(dir, gatewayPort, shimPort) {
  const secretFile = path.join(dir, 'secret');
  writeFileSync(secretFile, SECRET, { mode: 0o600 });
  const config = parseYaml(readFileSync(DEMO_CONFIG, 'utf8'), { maxAliasCount: 100 });
  config.dataDir = dir;
  config.server = {
    ...config.server,
    host: '127.0.0.1',
    port: gatewayPort,
    // Host/Origin reach the gateway untouched through the shim, so its origin must be allowed too.
    allowedOrigins: ['localhost', '127.0.0.1', '[::1]'].flatMap((h) =>
      [gatewayPort, shimPort].map((p) => `http://${h}:${p}`),
    ),
  };
  config.auth.issuers = [{ issuer: ISSUER, algorithms: ['HS256'], secretFile }];
  config.demo = { database: path.join(dir, 'demo.sqlite'), fixtures: true };
  config.logging = { level: 'error' };
  const file = path.join(dir, 'portcullis.yaml');
  writeFileSync(file, stringifyYaml(config));
  return file;
}

async function startGateway(dir, gatewayPort, shimPort) {
  const [{ loadConfigFile }, { createGateway }, { createLogger }] = await Promise.all([
    import('../dist/config/load.js'),
    import('../dist/gateway.js'),
    import('../dist/observability/log.js'),
  ]);
  const config = loadConfigFile(writeConfig(dir, gatewayPort, shimPort), { port: gatewayPort, env: {} });
  const gateway = await createGateway(config, { logger: createLogger('silent') });
  try {
    const { url } = await gateway.listen();
    return { gateway, url, mcpUrl: `${url}/mcp` };
  } catch (err) {
    await gateway.close();
    throw err;
  }
}

function mintToken(audience) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ org_id: 'acme', roles: ['user', 'admin'] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setSubject('conformance')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(SECRET));
}

// ---------------------------------------------------------------------------------------------
// 3. The bearer shim.

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const MAX_PEEK = 64 * 1024;

/**
 * Forwards every request to 127.0.0.1:`target.port` as it came (raw header list, so Host,
 * Origin, duplicates and case all pass untouched), adding the bearer token when absent.
 * Records a little about each request (`log`) so the runner can tell which wire a scenario used.
 */
function startShim(target, log) {
  const server = createServer((req, res) => {
    const raw = req.rawHeaders;
    const headers = [];
    let hasAuth = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      if (HOP_BY_HOP.has(name)) continue;
      if (name === 'authorization') hasAuth = true;
      headers.push(raw[i], raw[i + 1]);
    }
    if (!hasAuth) headers.push('Authorization', `Bearer ${target.token}`);
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (req.headers['transfer-encoding'] !== undefined) headers.push('Transfer-Encoding', 'chunked');

    const entry = {
      method: req.method,
      url: req.url,
      host: req.headers.host,
      version: req.headers['mcp-protocol-version'],
      body: '',
    };
    log.push(entry);

    const up = httpRequest({
      host: '127.0.0.1',
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
      agent: false,
      setHost: false,
    });
    let upRes;
    up.on('response', (r) => {
      upRes = r;
      const out = [];
      const rh = r.rawHeaders;
      for (let i = 0; i < rh.length; i += 2) if (!HOP_BY_HOP.has(rh[i].toLowerCase())) out.push(rh[i], rh[i + 1]);
      entry.status = r.statusCode;
      res.writeHead(r.statusCode ?? 502, r.statusMessage, out);
      res.flushHeaders(); // SSE: the headers go now, each event as soon as it arrives
      r.on('data', (chunk) => res.write(chunk));
      r.on('end', () => res.end());
      r.on('close', () => {
        if (!r.complete) res.destroy();
      });
      r.on('error', () => res.destroy());
    });
    up.on('error', (err) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`bearer shim: upstream error: ${err.message}`);
      } else if (!upRes?.complete) {
        // (An error after a complete answer is the gateway closing the connection without
        // reading the rest of a refused request's body: the answer already went through.)
        res.destroy();
      }
    });
    res.on('error', () => up.destroy());
    // The client went away (e.g. closed its SSE stream): tell the gateway.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    if (hasBody) {
      req.on('data', (chunk) => {
        if (entry.body.length < MAX_PEEK) entry.body += chunk.toString('utf8');
        up.write(chunk);
      });
      req.on('end', () => up.end());
      req.on('error', () => up.destroy());
    } else {
      up.end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve({
        port: server.address().port,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Which wire(s) the requests of one scenario run used, as seen by the shim. */
function observedWires(entries) {
  const wires = new Set();
  for (const e of entries) {
    if (e.version === WIRE_2025 || e.version === WIRE_2026) wires.add(e.version);
    let msg;
    try {
      msg = JSON.parse(e.body);
    } catch {
      continue;
    }
    if (msg?.method === 'initialize' && typeof msg.params?.protocolVersion === 'string') {
      wires.add(msg.params.protocolVersion);
    }
    const metaVersion = msg?.params?._meta?.['io.modelcontextprotocol/protocolVersion'];
    if (metaVersion === WIRE_2026) wires.add(metaVersion);
  }
  return wires;
}

function describeRequest(e) {
  let rpc = '';
  try {
    const msg = JSON.parse(e.body);
    rpc = ` ${msg.method ?? (msg.result ? 'result' : 'error')}${msg.id !== undefined ? `#${msg.id}` : ''}`;
  } catch {
    // not JSON, or no body
  }
  return `${e.method} ${e.url} host=${e.host} version=${e.version ?? '-'}${rpc} → ${e.status ?? 'no response'}`;
}

// ---------------------------------------------------------------------------------------------
// 4. Running one scenario.

/** The suite's arguments for one scenario on one wire (--spec-version pins the wire, notes §7.1). */
function scenarioArgs(scenario, wire, url, outDir) {
  return [
    CLI_JS,
    'server',
    '--url',
    url,
    '--scenario',
    scenario,
    '--spec-version',
    wire,
    '--timeout',
    String(SUITE_TIMEOUT_MS),
    ...(outDir ? ['-o', outDir] : []),
  ];
}

/** A copy-pasteable command line (run from the repository root). */
function commandLine(args) {
  return [NODE_BIN, ...args].map((a) => (a.startsWith(HARNESS) ? path.relative(ROOT, a) : a)).join(' ');
}

function runScenario(scenario, wire, url, outDir) {
  const args = scenarioArgs(scenario, wire, url, outDir);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(NODE_BIN, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    interrupt.child = child;
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n[runner] scenario still running after ${KILL_AFTER_MS} ms, killed\n`;
      child.kill('SIGKILL');
    }, KILL_AFTER_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      interrupt.child = undefined;
      resolve({ code, signal, output, ms: Date.now() - started, argv: args });
    });
  });
}

function readChecks(outDir) {
  if (!existsSync(outDir)) return undefined;
  for (const d of readdirSync(outDir)) {
    const file = path.join(outDir, d, 'checks.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// 5. The baseline.

/** `{ [wire]: Map<"scenario" | "scenario:check", reason> }` from expected-failures.yaml. */
function loadBaseline() {
  const out = { [WIRE_2025]: new Map(), [WIRE_2026]: new Map() };
  if (!existsSync(BASELINE)) return out;
  const doc = parseYaml(readFileSync(BASELINE, 'utf8')) ?? {};
  for (const [wire, entries] of Object.entries(doc)) {
    if (!(wire in out)) throw new Error(`${BASELINE}: unknown wire ${wire} (use ${WIRE_2025} or ${WIRE_2026})`);
    for (const e of entries ?? []) {
      if (typeof e?.id !== 'string' || typeof e?.reason !== 'string' || e.reason.trim() === '') {
        throw new Error(`${BASELINE}: each entry needs an id ("scenario:check") and a reason`);
      }
      out[wire].set(e.id, e.reason);
    }
  }
  return out;
}

/** Evaluates one run's checks against the baseline. */
function judge(scenario, checks, baseline) {
  const failing = [];
  const excused = [];
  const stale = [];
  const bad = (c) => c.status === 'FAILURE' || c.status === 'WARNING';
  // A check id may be emitted several times: judge it by its most severe occurrence.
  const byId = new Map();
  for (const c of checks) {
    const prev = byId.get(c.id);
    if (!prev || (bad(c) && !bad(prev))) byId.set(c.id, c);
  }
  for (const c of byId.values()) {
    if (!bad(c)) continue;
    const key = `${scenario}:${c.id}`;
    if (baseline.has(key) || baseline.has(scenario))
      excused.push({ check: c, reason: baseline.get(key) ?? baseline.get(scenario) });
    else failing.push(c);
  }
  for (const key of baseline.keys()) {
    if (key === scenario && failing.length + excused.length === 0) stale.push(key);
    if (!key.startsWith(`${scenario}:`)) continue;
    const c = byId.get(key.slice(scenario.length + 1));
    if (c && !bad(c) && c.status !== 'SKIPPED') stale.push(key);
  }
  return { failing, excused, stale };
}

// ---------------------------------------------------------------------------------------------

function describeCheck(c) {
  const lines = [`    ✗ [${c.status}] ${c.id}${c.errorMessage ? `: ${c.errorMessage}` : ''}`];
  if (c.details && Object.keys(c.details).length > 0) {
    const d = JSON.stringify(c.details);
    lines.push(`      details: ${d.length > 1500 ? `${d.slice(0, 1500)}…` : d}`);
  }
  return lines.join('\n');
}

async function main() {
  const started = Date.now();
  const nodeVersion = ensureHarness();
  const runs = RUNS.filter(
    (r) => (!opts.scenario || r.scenario === opts.scenario) && (!opts.wire || r.wire === opts.wire),
  );
  if (runs.length === 0) throw new Error('no scenario matches --scenario/--wire');
  const baseline = loadBaseline();

  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-conformance-'));
  const cleanups = []; // run in order: shim, gateway, temp dir
  const results = [];
  try {
    const log = [];
    // The shim needs the gateway's port and a token for the gateway's audience; the gateway's
    // Origin allow-list needs the shim's port: start the shim first and fill `target` in after.
    const target = { port: 0, token: '' };
    const shim = await startShim(target, log);
    cleanups.push(() => shim.close());
    const gw = await startGateway(dir, await freePort(), shim.port);
    cleanups.push(() => gw.gateway.close());
    target.port = new URL(gw.url).port;
    target.token = await mintToken(gw.mcpUrl);
    const url = `http://localhost:${shim.port}/mcp`;
    console.log(
      `conformance: gateway ${gw.mcpUrl}, bearer shim ${url}, suite on node ${nodeVersion} (${runs.length} runs)\n`,
    );

    if (opts.serve) {
      console.log('Serving until Ctrl-C. Run a scenario by hand with, e.g.:\n');
      for (const { scenario, wire } of runs) console.log(`  ${commandLine(scenarioArgs(scenario, wire, url))}`);
      await new Promise((resolve) => (interrupt.wake = resolve));
    }
    for (const { scenario, wire } of opts.serve ? [] : runs) {
      if (interrupt.signal) break;
      if (Date.now() - started > TOTAL_BUDGET_MS) {
        console.log(`✗ ${scenario} @ ${wire} — not run: the ${TOTAL_BUDGET_MS / 1000} s budget is spent`);
        results.push({ scenario, wire, passed: false });
        continue;
      }
      const outDir = path.join(dir, 'results', `${scenario}@${wire}`);
      mkdirSync(outDir, { recursive: true });
      log.length = 0;
      const run = await runScenario(scenario, wire, url, outDir);
      if (interrupt.signal) break;
      const checks = readChecks(outDir);
      const wires = observedWires(log);
      const problems = [];
      let verdict = { failing: [], excused: [], stale: [] };
      if (!checks) {
        problems.push(`the suite produced no results (exit ${run.code ?? run.signal})`);
      } else {
        verdict = judge(scenario, checks, baseline[wire]);
        if (checks.length === 0) problems.push('the scenario emitted no checks');
      }
      if (!wires.has(wire) || wires.size !== 1) {
        problems.push(`expected the ${wire} wire, the shim saw [${[...wires].join(', ') || 'none'}]`);
      }
      for (const key of verdict.stale) problems.push(`baseline entry ${key} is stale (the check passes now)`);
      const passed = problems.length === 0 && verdict.failing.length === 0;
      const count = (s) => (checks ?? []).filter((c) => c.status === s).length;
      const summary = `${count('SUCCESS')} ok, ${count('FAILURE')} failed, ${count('WARNING')} warnings, ${count('SKIPPED')} skipped, ${count('INFO')} info`;
      console.log(
        `${passed ? '✓' : '✗'} ${scenario} @ ${wire} — ${summary}; wire seen: ${[...wires].join(', ') || 'none'}; ${log.length} requests; ${run.ms} ms`,
      );
      for (const c of verdict.failing) console.log(describeCheck(c));
      for (const e of verdict.excused) console.log(`    ~ [${e.check.status}] ${e.check.id} (expected: ${e.reason})`);
      for (const p of problems) console.log(`    ! ${p}`);
      if (opts.verbose || !passed) console.log(`    $ ${commandLine(run.argv)}`);
      if (opts.verbose || (!passed && !checks)) {
        for (const e of log) console.log(`    > ${describeRequest(e)}`);
        console.log(run.output.replace(/^/gm, '    | '));
      }
      results.push({ scenario, wire, passed, argv: run.argv });
    }
  } finally {
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    for (const c of cleanups) {
      try {
        await c();
      } catch (err) {
        console.error(`conformance: cleanup failed: ${String(err)}`);
      }
    }
  }

  if (interrupt.signal) {
    console.log(`conformance: interrupted (${interrupt.signal}), cleaned up`);
    return 130;
  }
  const passed = results.filter((r) => r.passed).length;
  const failed = results.length - passed;
  if (failed > 0) {
    console.log('\nFailing runs (re-run one by hand, see test/conformance/README.md):');
    for (const r of results.filter((x) => !x.passed)) console.log(`  ${r.scenario} @ ${r.wire}`);
  }
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.log(`conformance: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`conformance: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    console.log('conformance: 0 passed, 1 failed');
    process.exit(1);
  },
);
