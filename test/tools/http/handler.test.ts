/**
 * The http handler on its own, as an embedder (the demo) builds it: createEgress +
 * createHttpHandler over a loaded config, against a recording loopback upstream. Credentials:
 * static API key, OAuth client credentials (cached), the gateway JWT; the signing key file.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { principalKey } from '../../../src/auth/principal.js';
import type { Principal } from '../../../src/auth/principal.js';
import { loadConfigText } from '../../../src/config/load.js';
import type { GatewayConfig } from '../../../src/config/types.js';
import { PortcullisError } from '../../../src/errors.js';
import { createEgress, createHttpHandler, loadOrCreateSigner } from '../../../src/tools/http/index.js';
import type { Egress, UpstreamFailureInfo } from '../../../src/tools/http/index.js';
import type { ToolContext, ToolResult } from '../../../src/tools/types.js';
import { FAILURE_REASON } from '../../../src/tools/types.js';
import { startUpstream } from '../../helpers/upstream.js';
import type { TestUpstream } from '../../helpers/upstream.js';

const alice: Principal = {
  issuer: 'urn:test',
  user: 'alice',
  tenant: 'acme',
  roles: ['user'],
  scopes: new Set(['items:read']),
  expiresAt: Math.floor(Date.now() / 1000) + 600,
  key: principalKey('urn:test', 'alice', 'acme'),
};

function ctx(requestId = 'req-1'): ToolContext {
  return { principal: alice, requestId, signal: new AbortController().signal, log: () => {}, progress: () => {} };
}

let dir: string;
let up: TestUpstream;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'portcullis-http-'));
  up = await startUpstream();
});
afterAll(async () => {
  await up.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => up.reset());

function config(upstreamAuth: string): GatewayConfig {
  return loadConfigText(
    `
dataDir: ${dir}
auth:
  issuers: [{ issuer: urn:test, algorithms: [HS256], secret: ${'s'.repeat(40)} }]
upstreams:
  api:
    baseUrl: ${up.url}/v1
    allowPrivateNetwork: true
    allowInsecureHttp: true
    ${upstreamAuth}
tools:
  - name: list_items
    description: d
    roles: [user]
    input: { type: object, properties: { status: { type: string, maxLength: 20 } } }
    http: { upstream: api, method: GET, path: /items, query: { status: status } }
`,
    { env: {}, baseDir: dir },
  );
}

async function withHandler(
  upstreamAuth: string,
  run: (
    call: (args?: Record<string, unknown>) => Promise<ToolResult>,
    failures: UpstreamFailureInfo[],
  ) => Promise<void>,
): Promise<void> {
  const c = config(upstreamAuth);
  const failures: UpstreamFailureInfo[] = [];
  const signer = c.upstreams.api?.auth?.kind === 'gatewayJwt' ? await loadOrCreateSigner(c.upstreamSigning) : undefined;
  const egress: Egress = createEgress({
    upstreams: c.upstreams,
    ...(signer && { signer }),
    claims: c.auth.claims,
    onFailure: (f) => failures.push(f),
  });
  try {
    const handler = createHttpHandler(c.tools[0]!, c.upstreams.api!, egress);
    await run(async (args = {}) => handler(args, ctx()), failures);
  } finally {
    await egress.close();
  }
}

describe('createHttpHandler', () => {
  it('sends a static API key from the environment, and only the mapped argument', async () => {
    await withHandler('auth: { apiKey: { header: X-Api-Key, value: k-123 } }', async (call) => {
      const r = await call({ status: 'open' });
      expect(r.isError).toBeUndefined();
      expect(up.requests[0]!.rawUrl).toBe('/v1/items?status=open');
      expect(up.requests[0]!.headers['x-api-key']).toBe('k-123');
      expect(up.requests[0]!.headers['x-portcullis-user']).toBeUndefined();
    });
  });

  it('fetches an OAuth client-credentials token once and reuses it', async () => {
    up.route('/token', { kind: 'json', body: { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600 } });
    await withHandler(
      `auth: { oauthClientCredentials: { tokenUrl: "${up.url}/token", clientId: gw, clientSecret: s3cret, scope: items } }`,
      async (call) => {
        await call();
        await call();
        const token = up.requests.filter((r) => r.path === '/token');
        const api = up.requests.filter((r) => r.path === '/v1/items');
        expect(token).toHaveLength(1);
        expect(token[0]!.headers.authorization).toBe(`Basic ${Buffer.from('gw:s3cret').toString('base64')}`);
        expect(new URLSearchParams(token[0]!.body).get('grant_type')).toBe('client_credentials');
        expect(new URLSearchParams(token[0]!.body).get('scope')).toBe('items');
        expect(api.map((r) => r.headers.authorization)).toEqual(['Bearer at-1', 'Bearer at-1']);
      },
    );
  });

  it('a refused token request fails the call closed (RC-17), nothing sent to the API', async () => {
    up.route('/token', { kind: 'json', status: 401, body: { error: 'invalid_client' } });
    await withHandler(
      `auth: { oauthClientCredentials: { tokenUrl: "${up.url}/token", clientId: gw, clientSecret: s } }`,
      async (call, failures) => {
        const r = await call();
        expect(r).toEqual({
          content: [{ type: 'text', text: 'The upstream request failed (ref req-1)' }],
          isError: true,
        });
        expect(r[FAILURE_REASON]).toBe('upstream_credentials_unavailable');
        expect(JSON.stringify(r)).not.toContain('upstream_credentials');
        expect(failures.map((f) => f.reason)).toEqual(['upstream_credentials_unavailable']);
        expect(up.requests.filter((q) => q.path === '/v1/items')).toHaveLength(0);
      },
    );
  });

  it('signs a gateway JWT with user, tenant, roles, scopes and request id for the upstream audience', async () => {
    await withHandler('auth: { gatewayJwt: { audience: urn:api, ttlSec: 30 } }', async (call) => {
      await call();
      const c = config('auth: { gatewayJwt: {} }');
      const signer = await loadOrCreateSigner(c.upstreamSigning);
      const jwt = String(up.requests[0]!.headers.authorization).slice('Bearer '.length);
      const { payload } = await jwtVerify(jwt, createLocalJWKSet({ keys: [...signer.jwks.keys] }), {
        issuer: c.upstreamSigning.issuer,
        audience: 'urn:api',
      });
      expect(payload).toMatchObject({
        sub: 'alice',
        org_id: 'acme',
        roles: ['user'],
        scope: 'items:read',
        req: 'req-1',
      });
      expect(payload.exp! - payload.iat!).toBe(30);
    });
  });
});

describe('the upstream signing key', () => {
  it('is generated once, 0600, and reused (same kid) on the next start', async () => {
    const keyDir = path.join(dir, 'keys');
    const cfg = { keyFile: path.join(keyDir, 'k.json'), algorithm: 'EdDSA' as const, issuer: 'urn:gw' };
    const a = await loadOrCreateSigner(cfg);
    const b = await loadOrCreateSigner(cfg);
    expect(b.kid).toBe(a.kid);
    expect(statSync(cfg.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(keyDir).mode & 0o777).toBe(0o700);
    expect(a.jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: a.kid });
    expect(a.jwks.keys[0]).not.toHaveProperty('d');
    expect(JSON.parse(readFileSync(cfg.keyFile, 'utf8'))).toHaveProperty('d');
  });

  it('refuses a key file of another algorithm with a clear error', async () => {
    const keyFile = path.join(dir, 'es.json');
    await loadOrCreateSigner({ keyFile, algorithm: 'ES256', issuer: 'urn:gw' });
    await expect(loadOrCreateSigner({ keyFile, algorithm: 'RS256', issuer: 'urn:gw' })).rejects.toThrow(
      PortcullisError,
    );
    await expect(loadOrCreateSigner({ keyFile, algorithm: 'RS256', issuer: 'urn:gw' })).rejects.toThrow(
      /does not hold a RS256 private key/,
    );
  });
});
