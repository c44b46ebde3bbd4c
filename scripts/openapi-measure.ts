/**
 * Measures the OpenAPI import on GitHub's REST description (npm @octokit/openapi): import time,
 * config load and gateway start with the spec referenced from `openapi:`, and `tools/list`
 * latency for a principal with every role (token cache warm). Prints one JSON object.
 *   node --import tsx scripts/openapi-measure.ts [calls=50]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { loadConfigFile } from '../src/config/load.js';
import { createGateway } from '../src/gateway.js';
import { createLogger } from '../src/observability/log.js';
import { importOpenApi } from '../src/tools/openapi/import.js';

const SPEC = createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json');
const SECRET = 'measure-secret-0123456789abcdef0123456789abcdef';
const calls = Number(process.argv[2] ?? 50);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
const ms = (t0: number): number => Math.round((performance.now() - t0) * 10) / 10;

let t0 = performance.now();
const first = importOpenApi(SPEC, { upstream: 'github' });
const importFirstMs = ms(t0);
const again: number[] = [];
for (let i = 0; i < 5; i++) {
  t0 = performance.now();
  importOpenApi(SPEC, { upstream: 'github' });
  again.push(ms(t0));
}

const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-oas-measure-'));
const file = path.join(dir, 'portcullis.yaml');
writeFileSync(
  file,
  `dataDir: ./data
auth:
  issuers: [{ issuer: urn:measure, algorithms: [HS256], secret: ${SECRET} }]
  roles: [user, admin]
logging: { level: silent }
upstreams:
  github: { baseUrl: https://api.github.com }
openapi:
  - { spec: ${SPEC}, upstream: github, roles: [user, admin] }
`,
);
// A fixed free port: the token's audience is the gateway's public URL, which names the port.
const port = await new Promise<number>((resolve) => {
  const srv = createServer().listen(0, '127.0.0.1', () => {
    const p = (srv.address() as AddressInfo).port;
    srv.close(() => resolve(p));
  });
});
t0 = performance.now();
const config = loadConfigFile(file, { port, env: {} });
const loadMs = ms(t0);
t0 = performance.now();
const gateway = await createGateway(config, { logger: createLogger('silent') });
const createMs = ms(t0);
const { url } = await gateway.listen();
const mcp = `${url}/mcp`;
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ roles: ['user', 'admin'], org_id: 'acme' })
  .setProtectedHeader({ alg: 'HS256' })
  .setIssuer('urn:measure')
  .setSubject('ops')
  .setAudience(mcp)
  .setIssuedAt(now)
  .setExpirationTime(now + 600)
  .sign(new TextEncoder().encode(SECRET));

async function list(): Promise<{ ms: number; tools: number; bytes: number }> {
  const start = performance.now();
  const res = await fetch(mcp, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/list',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/list',
      params: {
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
  });
  const text = await res.text();
  const elapsed = ms(start);
  if (res.status !== 200) throw new Error(`tools/list: HTTP ${res.status}: ${text.slice(0, 200)}`);
  const body = JSON.parse(text) as { result: { tools: unknown[] } };
  return { ms: elapsed, tools: body.result.tools.length, bytes: Buffer.byteLength(text) };
}

const firstList = await list(); // verifies the token, builds and caches the listing
for (let i = 0; i < 5; i++) await list();
const samples: number[] = [];
let last = firstList;
for (let i = 0; i < calls; i++) {
  last = await list();
  samples.push(last.ms);
}
samples.sort((a, b) => a - b);
await gateway.close();
rmSync(dir, { recursive: true, force: true });

console.log(
  JSON.stringify(
    {
      spec: path.relative(process.cwd(), SPEC),
      operations: first.operations,
      tools: first.tools.length,
      importFirstMs,
      importRepeatMedianMs: [...again].sort((a, b) => a - b)[2],
      configLoadMs: loadMs,
      gatewayCreateMs: createMs,
      toolsListed: last.tools,
      listingBytes: last.bytes,
      toolsListFirstMs: firstList.ms,
      toolsList: { calls, p50Ms: pct(samples, 50), p95Ms: pct(samples, 95), maxMs: samples.at(-1) },
    },
    null,
    2,
  ),
);
