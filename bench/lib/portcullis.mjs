/* global TextEncoder, URL */
// Portcullis scenarios: a temp data dir and secret per gateway, a config derived from
// examples/bench/portcullis.yaml, ES256 keys in a local JWKS file, generated tools, tokens.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { parse, stringify } from 'yaml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BASE_CONFIG = path.join(ROOT, 'examples/bench/portcullis.yaml');
const HS_ISSUER = 'urn:portcullis:dev';
const ES_ISSUER = 'urn:portcullis:bench-es256';
/** The caller every scenario uses: a regular user of one organisation. */
export const PRINCIPAL = { sub: 'alice', org: 'acme', roles: ['user'] };
export const LIST_TOOLS = 1000;

/** The Portcullis scenarios of the throughput runs. */
export const SCENARIOS = {
  'pc-2026-hs256': { label: 'Portcullis 2026 stateless, HS256', era: 'modern', method: 'tools/call' },
  // The same with `audit.sqlite.synchronous: normal`: COMMITs survive kill -9, not power loss.
  'pc-2026-normal': {
    label: 'Portcullis 2026 stateless, HS256, audit synchronous=normal',
    era: 'modern',
    method: 'tools/call',
    synchronous: 'normal',
  },
  'pc-2025-session': { label: 'Portcullis 2025 session, HS256', era: 'session', method: 'tools/call' },
  'pc-2026-es256': { label: 'Portcullis 2026 stateless, ES256 JWKS', era: 'modern', method: 'tools/call', es256: true },
  'pc-tools-list': {
    label: `Portcullis tools/list, ${LIST_TOOLS.toLocaleString('en-US')} tools filtered by role`,
    era: 'modern',
    method: 'tools/list',
    manyTools: true,
  },
};

/**
 * Writes a scenario's gateway directory: config.yaml, secret, JWKS; returns what the bench needs
 * to start it (`file`) and to call it (`token`). `port` goes into the config (token audience).
 */
export async function prepareGateway(scenario, port, extra = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-bench-'));
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  const secretFile = path.join(dir, 'secret');
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });

  const cfg = parse(readFileSync(BASE_CONFIG, 'utf8'));
  cfg.dataDir = dataDir;
  cfg.server = { ...cfg.server, host: '127.0.0.1', port };
  cfg.audit = {
    ...cfg.audit,
    sqlite: {
      path: path.join(dataDir, 'bench-audit.sqlite'),
      ...(scenario.synchronous && { synchronous: scenario.synchronous }),
    },
  };
  cfg.demo = { ...cfg.demo, database: path.join(dataDir, 'demo.sqlite') };
  // Caps raised for the scale measurements (thousands of sessions from one principal).
  // examples/bench/portcullis.yaml leaves notificationsPerPrincipal at its default (600/min),
  // which 10,000 `notifications/initialized` would trip.
  cfg.sessions = { ...cfg.sessions, maxPerPrincipal: 1_000_000, maxTotal: 1_000_000 };
  cfg.limits = { notificationsPerPrincipal: { requests: 100_000_000, windowSec: 60 }, ...cfg.limits };
  const hs = cfg.auth.issuers.find((i) => i.issuer === HS_ISSUER);
  if (!hs) throw new Error(`${BASE_CONFIG}: no issuer ${HS_ISSUER}`);
  hs.secretFile = secretFile;
  let sign = (claims) => signHs(claims, secret);
  if (scenario.es256) {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = 'bench-es256-1';
    const jwksFile = path.join(dir, 'jwks.json');
    writeFileSync(
      jwksFile,
      JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] }),
    );
    cfg.auth.issuers.push({ issuer: ES_ISSUER, algorithms: ['ES256'], jwksFile });
    sign = (claims) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(ES_ISSUER).sign(privateKey);
  }
  if (scenario.manyTools) cfg.tools.push(...generatedTools(LIST_TOOLS));
  Object.assign(cfg, extra);
  const visibleTools = cfg.tools.filter((t) => t.roles.some((r) => PRINCIPAL.roles.includes(r))).length;
  const file = path.join(dir, 'portcullis.yaml');
  writeFileSync(file, stringify(cfg));

  const now = Math.floor(Date.now() / 1000);
  const token = await sign({
    sub: PRINCIPAL.sub,
    org_id: PRINCIPAL.org,
    roles: PRINCIPAL.roles,
    aud: `http://127.0.0.1:${port}/mcp`,
    iat: now,
    exp: now + 3600,
    jti: randomBytes(12).toString('base64url'),
  });
  return { dir, file, token, visibleTools };
}

function signHs(claims, secret) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(HS_ISSUER)
    .sign(new TextEncoder().encode(secret));
}

/** `n` echo-backed tools; even ones for `user` (visible to the bench principal), odd ones admin-only. */
export function generatedTools(n) {
  return Array.from({ length: n }, (_, i) => ({
    name: `gen_tool_${String(i).padStart(4, '0')}`,
    description: `Generated tool ${i} of ${n}: returns the text it is given (benchmark listing load).`,
    input: {
      type: 'object',
      additionalProperties: false,
      required: ['text'],
      properties: { text: { type: 'string', maxLength: 4096, description: 'Text to return.' } },
    },
    roles: i % 2 === 0 ? ['user'] : ['admin'],
    readOnly: true,
    module: { builtin: 'demo.echo' },
  }));
}
