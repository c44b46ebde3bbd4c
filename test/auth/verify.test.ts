/**
 * The token verifier, without HTTP: every way a token can be wrong is an `invalid` value (never
 * a throw), keys are chosen by issuer first, and the verified-token cache never outlives `exp`.
 */
import { createHmac } from 'node:crypto';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIssuerTable } from '../../src/auth/keys.js';
import { createVerifier } from '../../src/auth/verify.js';
import type { Verifier } from '../../src/auth/verify.js';
import type { AuthConfig, IssuerConfig } from '../../src/config/types.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { startIdp } from '../helpers/idp.js';
import type { TestIdp } from '../helpers/idp.js';

const AUD = 'https://mcp.example.com/mcp';
const HS_ISS = 'urn:test:service';
const SECRET = 'a-very-long-test-secret-of-at-least-32-bytes!';
const enc = (s: string) => new TextEncoder().encode(s);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

let idp: TestIdp;
let clock = Date.now();
const nowSec = () => Math.floor(clock / 1000);

function authConfig(issuers: IssuerConfig[], extra: Partial<AuthConfig> = {}): AuthConfig {
  return {
    issuers,
    audiences: [AUD],
    strictAudience: false,
    clockToleranceSec: 30,
    maxTokenAgeSec: 3600,
    maxTokenBytes: 8192,
    claims: DEFAULTS.auth.claims,
    roles: ['user', 'admin'],
    authorizationServers: [],
    scopesSupported: [],
    tokenCacheSize: 100,
    ...extra,
  };
}

function verifier(extra: Partial<AuthConfig> = {}): Verifier {
  const issuers: IssuerConfig[] = [
    { issuer: HS_ISS, algorithms: ['HS256'], secret: SECRET },
    { issuer: idp.issuer, algorithms: ['RS256', 'ES256', 'EdDSA'], jwksUri: idp.jwksUri },
  ];
  const auth = authConfig(issuers, extra);
  return createVerifier({ auth, issuers: buildIssuerTable(auth.issuers), now: () => clock });
}

const claims = (over: Record<string, unknown> = {}) => ({
  sub: 'alice',
  org_id: 'acme',
  roles: ['user'],
  aud: AUD,
  iat: nowSec(),
  exp: nowSec() + 600,
  ...over,
});
/** A compact JWS signed with the service secret, built by hand so jose's signer cannot refuse it. */
const rawHs = (header: string, payload: string) =>
  `${header}.${payload}.${createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url')}`;
const hs = (c: Record<string, unknown>, header: Record<string, unknown> = {}, secret = SECRET) =>
  new SignJWT(c).setProtectedHeader({ alg: 'HS256', ...header }).sign(enc(secret));

beforeAll(async () => {
  idp = await startIdp();
});
afterAll(async () => {
  await idp.close();
});

describe('verifyToken', () => {
  it('accepts a valid HS256 token and maps its claims to a principal', async () => {
    const r = await verifier().verify(await hs(claims({ iss: HS_ISS, scope: 'a b' })));
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.principal).toMatchObject({ issuer: HS_ISS, user: 'alice', tenant: 'acme', roles: ['user'] });
      expect([...r.principal.scopes]).toEqual(['a', 'b']);
    }
  });

  it.each(['RS256', 'ES256', 'EdDSA'] as const)(
    'accepts a %s token whose key comes from the issuer JWKS',
    async (alg) => {
      const r = await verifier().verify(await idp.sign(alg, claims({ iss: idp.issuer })));
      expect(r.ok).toBe(true);
    },
  );

  const invalid: [string, () => Promise<string>][] = [
    ['J-01 alg none', async () => `${b64({ alg: 'none' })}.${b64(claims({ iss: HS_ISS }))}.`],
    ['J-14 expired beyond the tolerance', () => hs(claims({ iss: HS_ISS, iat: nowSec() - 700, exp: nowSec() - 120 }))],
    ['J-16 no exp', () => hs({ ...claims({ iss: HS_ISS }), exp: undefined })],
    ['J-17 exp as a string', () => hs(claims({ iss: HS_ISS, exp: String(nowSec() + 600) }))],
    ['J-19 iat in the future', () => hs(claims({ iss: HS_ISS, iat: nowSec() + 3600, exp: nowSec() + 7200 }))],
    [
      'J-20 token older than maxTokenAge',
      () => hs(claims({ iss: HS_ISS, iat: nowSec() - 2 * 86400, exp: nowSec() + 86400 * 3650 })),
    ],
    ['J-21 no iss', () => hs(claims())],
    ['unknown issuer', () => hs(claims({ iss: 'urn:evil' }))],
    ['J-23 no aud', () => hs({ ...claims({ iss: HS_ISS }), aud: undefined })],
    ['J-24 aud of another resource', () => hs(claims({ iss: HS_ISS, aud: 'https://other.example/mcp' }))],
    ['J-25 aud with a trailing slash', () => hs(claims({ iss: HS_ISS, aud: `${AUD}/` }))],
    ['not before in the future', () => hs(claims({ iss: HS_ISS, nbf: nowSec() + 600 }))],
    ['wrong HS secret', () => hs(claims({ iss: HS_ISS }), {}, 'another-secret-that-is-long-enough-0123456789')],
    [
      'J-04 HS384 while the issuer allows HS256 only',
      () => new SignJWT(claims({ iss: HS_ISS })).setProtectedHeader({ alg: 'HS384' }).sign(enc(SECRET)),
    ],
    ['J-29b JWKS issuer, signed HS256 with the service secret', () => hs(claims({ iss: idp.issuer }))],
    [
      'J-13 crit b64 (unencoded payload)',
      async () => rawHs(b64({ alg: 'HS256', crit: ['b64'], b64: false }), JSON.stringify(claims({ iss: HS_ISS }))),
    ],
    ['J-35 payload is an array', async () => rawHs(b64({ alg: 'HS256' }), Buffer.from('[]').toString('base64url'))],
    ['sub with a newline', () => hs(claims({ iss: HS_ISS, sub: 'alice\nadmin' }))],
    ['tenant not a string', () => hs(claims({ iss: HS_ISS, org_id: 42 }))],
    ['roles not an array', () => hs(claims({ iss: HS_ISS, roles: 'admin' }))],
    ['garbage', async () => 'not-a-jwt'],
    [
      'tampered payload',
      async () => {
        const t = await hs(claims({ iss: HS_ISS }));
        const [h, , s] = t.split('.');
        return `${h}.${b64(claims({ iss: HS_ISS, roles: ['admin'] }))}.${s}`;
      },
    ],
  ];

  it.each(invalid)('%s is an invalid token', async (_name, make) => {
    const r = await verifier().verify(await make());
    expect(r).toMatchObject({ ok: false, kind: 'invalid' });
  });

  it('J-03 HS256 signed with the public key material of a JWKS issuer is invalid, not a crash', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey);
    const r = await verifier().verify(await hs(claims({ iss: idp.issuer }), { kid: 'RS256-1' }, pem));
    expect(r).toMatchObject({ ok: false, kind: 'invalid' });
  });

  it('J-09 a jku header is never fetched', async () => {
    const before = idp.hits();
    const r = await verifier().verify(
      await hs(claims({ iss: HS_ISS }), { jku: `${idp.issuer}/attacker.json` }, 'x'.repeat(40)),
    );
    expect(r.ok).toBe(false);
    expect(idp.hits()).toBe(before);
  });

  it('accepts an expired token inside the clock tolerance and rejects it past the tolerance', async () => {
    const v = verifier({ tokenCacheSize: 0 });
    expect((await v.verify(await hs(claims({ iss: HS_ISS, exp: nowSec() - 10 })))).ok).toBe(true);
    expect((await v.verify(await hs(claims({ iss: HS_ISS, exp: nowSec() - 40 })))).ok).toBe(false);
  });

  it('compares the audience scheme and host case-insensitively (SEC-AUTH-03)', async () => {
    const r = await verifier().verify(await hs(claims({ iss: HS_ISS, aud: 'HTTPS://MCP.EXAMPLE.COM/mcp' })));
    expect(r.ok).toBe(true);
    const path = await verifier().verify(await hs(claims({ iss: HS_ISS, aud: 'https://mcp.example.com/MCP' })));
    expect(path.ok).toBe(false);
  });

  it('J-26 accepts an audience list containing us, unless strictAudience', async () => {
    const token = await hs(claims({ iss: HS_ISS, aud: [AUD, 'https://evil.example'] }));
    expect((await verifier().verify(token)).ok).toBe(true);
    expect((await verifier({ strictAudience: true }).verify(token)).ok).toBe(false);
  });

  it('SEC-AUTH-12 refuses a tenant outside the issuer allow-list', async () => {
    const issuers: IssuerConfig[] = [{ issuer: HS_ISS, algorithms: ['HS256'], secret: SECRET, tenants: ['globex'] }];
    const auth = authConfig(issuers);
    const v = createVerifier({ auth, issuers: buildIssuerTable(issuers), now: () => clock });
    expect(await v.verify(await hs(claims({ iss: HS_ISS })))).toMatchObject({
      ok: false,
      reason: 'tenant_not_allowed_for_issuer',
    });
  });

  it('ignores roles that are not configured', async () => {
    const r = await verifier().verify(await hs(claims({ iss: HS_ISS, roles: ['user', 'superuser'] })));
    expect(r.ok && r.principal.roles).toEqual(['user']);
  });

  it('never serves a cached token past its exp', async () => {
    const v = verifier();
    const token = await hs(claims({ iss: HS_ISS, exp: nowSec() + 5 }));
    expect((await v.verify(token)).ok).toBe(true);
    const saved = clock;
    clock += 40_000; // past exp and the 30 s tolerance
    try {
      expect((await v.verify(token)).ok).toBe(false);
    } finally {
      clock = saved;
    }
  });

  it('SEC-AUTH-10 fails closed (unavailable) when the JWKS answers 500, and never allows', async () => {
    const fresh = await startIdp();
    try {
      const issuers: IssuerConfig[] = [{ issuer: fresh.issuer, algorithms: ['ES256'], jwksUri: fresh.jwksUri }];
      const auth = authConfig(issuers);
      const v = createVerifier({ auth, issuers: buildIssuerTable(issuers), now: () => clock });
      fresh.setResponse(500, '{}');
      const r = await v.verify(await fresh.sign('ES256', claims({ iss: fresh.issuer })));
      expect(r.ok).toBe(false);
      expect(r).toMatchObject({ kind: 'unavailable' });
    } finally {
      await fresh.close();
    }
  });

  it('J-40 fails closed when the JWKS server is gone', async () => {
    const fresh = await startIdp();
    const issuers: IssuerConfig[] = [{ issuer: fresh.issuer, algorithms: ['ES256'], jwksUri: fresh.jwksUri }];
    const token = await fresh.sign('ES256', claims({ iss: fresh.issuer }));
    await fresh.close();
    const auth = authConfig(issuers);
    const v = createVerifier({ auth, issuers: buildIssuerTable(issuers), now: () => clock });
    const r = await v.verify(token);
    expect(r).toMatchObject({ ok: false, kind: 'unavailable' });
  });

  it('SEC-AUTH-10 an unknown kid flood fetches the JWKS at most once per cooldown', async () => {
    const v = verifier();
    await v.verify(await idp.sign('ES256', claims({ iss: idp.issuer })));
    const before = idp.hits();
    for (let i = 0; i < 20; i++) {
      const r = await v.verify(
        await idp.sign('ES256', claims({ iss: idp.issuer, jti: String(i) }), { kid: `unknown-${i}` }),
      );
      expect(r.ok).toBe(false);
    }
    expect(idp.hits() - before).toBeLessThanOrEqual(1);
  });
});

describe('key sources and claim names', () => {
  it('verifies against a local JWKS file and maps custom claim names', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { exportJWK, generateKeyPair: gen, SignJWT: Sign } = await import('jose');
    const { privateKey, publicKey } = await gen('ES256', { extractable: true });
    const dir = mkdtempSync(path.join(tmpdir(), 'jwks-'));
    try {
      const file = path.join(dir, 'jwks.json');
      writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }));
      const issuers: IssuerConfig[] = [{ issuer: 'urn:file', algorithms: ['ES256'], jwksFile: file }];
      const auth = authConfig(issuers, { claims: { user: 'uid', tenant: 'tid', roles: 'groups', scopes: 'scp' } });
      const v = createVerifier({ auth, issuers: buildIssuerTable(issuers), now: () => clock });
      const token = await new Sign({
        iss: 'urn:file',
        aud: AUD,
        uid: 'u1',
        tid: 't1',
        groups: ['admin'],
        scp: 'a:read',
        iat: nowSec(),
        exp: nowSec() + 60,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .sign(privateKey);
      const r = await v.verify(token);
      expect(r.ok && r.principal).toMatchObject({ issuer: 'urn:file', user: 'u1', tenant: 't1', roles: ['admin'] });
      // The default claim names mean nothing to this config.
      const plain = await new Sign({
        iss: 'urn:file',
        aud: AUD,
        sub: 'u1',
        org_id: 't1',
        iat: nowSec(),
        exp: nowSec() + 60,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .sign(privateKey);
      expect((await v.verify(plain)).ok).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start on an unreadable JWKS file', () => {
    expect(() =>
      buildIssuerTable([{ issuer: 'urn:file', algorithms: ['ES256'], jwksFile: '/nonexistent/jwks.json' }]),
    ).toThrow(/cannot load JWKS file/);
  });
});
