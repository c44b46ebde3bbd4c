/**
 * SECURITY.md B.1, JWT and token attacks (J-*), against a real gateway on loopback. It has the
 * demo HS256 issuer plus JWKS issuers served by real loopback IdPs (`idp.ts`): A (RS256, ES256),
 * B (ES256, EdDSA), T (ES256, `typ: at+jwt` enforced), K (RS256; its JWKS holds keys this file
 * controls, one without `alg` and one of 1024 bits) and X (a JWKS endpoint that fails on demand).
 * Every refusal is checked against the exact §0 answer (RC-1/2/3/4/5).
 */
import { createHmac, createSign, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, importJWK, importPKCS8 } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { captureLogger } from '../audit/helpers.js';
import { ISSUER, SECRET } from '../helpers/gateway.js';
import { startIdp } from '../helpers/idp.js';
import type { TestIdp } from '../helpers/idp.js';
import { modernHeaders, modernParams, postModern } from '../integration/support.js';
import {
  answerOf,
  auditBytes,
  auditEvents,
  expectAuthRefusal,
  expectUnavailable,
  hmacJws,
  parseChallenge,
  parseRaw,
  rawExchange,
  startAuthGateway,
  startBadJwks,
  startRecorder,
} from './support/auth.js';
import type { Answer, BadJwks } from './support/auth.js';
import { seenCalls } from './support/session.js';
import type { SecurityGateway } from './support/session.js';
import { selfSignedCert } from '../helpers/tls.js';

let gw: SecurityGateway;
let prm: string;
let idpA: TestIdp;
let idpB: TestIdp;
let idpT: TestIdp;
let idpK: TestIdp;
let bad: BadJwks;
/**
 * The gateway's clock: the wall clock plus `offset`, or `frozen` while a test holds it. It never
 * runs backwards (the rate limiter would rightly see that as a burst).
 */
let frozen: number | undefined;
let offset = 0;
const gatewayNow = (): number => frozen ?? Date.now() + offset;
const logs = captureLogger();

/** Keys served by IdP K: a 2048-bit RSA key whose JWK has no `alg`, and a 1024-bit one. */
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });

beforeAll(async () => {
  [idpA, idpB, idpT, idpK, bad] = await Promise.all([startIdp(), startIdp(), startIdp(), startIdp(), startBadJwks()]);
  idpK.setResponse(
    200,
    JSON.stringify({
      keys: [
        { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa', use: 'sig' },
        { ...weak.publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256', use: 'sig' },
      ],
    }),
  );
  gw = await startAuthGateway({
    issuers: [
      { issuer: idpA.issuer, jwksUri: idpA.jwksUri, algorithms: ['RS256', 'ES256'] },
      { issuer: idpB.issuer, jwksUri: idpB.jwksUri, algorithms: ['ES256', 'EdDSA'] },
      { issuer: idpT.issuer, jwksUri: idpT.jwksUri, algorithms: ['ES256'], typ: 'at+jwt' },
      { issuer: idpK.issuer, jwksUri: idpK.jwksUri, algorithms: ['RS256'] },
      { issuer: bad.issuer, jwksUri: bad.jwksUri, algorithms: ['RS256'] },
    ],
    now: gatewayNow,
    logger: logs.logger,
  });
  prm = `${gw.url}/.well-known/oauth-protected-resource/mcp`;
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([idpA, idpB, idpT, idpK].map((i) => i?.close()));
  await bad?.close();
});

const nowSec = (): number => Math.floor(gatewayNow() / 1000);

/** Valid claims for alice from `iss`; `undefined` overrides drop a claim. */
function claims(iss: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const t = nowSec();
  const all: Record<string, unknown> = {
    iss,
    aud: gw.mcpUrl,
    sub: 'alice',
    org_id: 'acme',
    roles: ['user'],
    iat: t,
    exp: t + 900,
    ...over,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

const hs = (c: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> =>
  gw.sign(c, { header });

/** A 2026-07-28 `tools/list` with this Authorization value (none when `undefined`). */
async function list(authorization: string | undefined, extra: Record<string, string> = {}): Promise<Answer> {
  const headers = { ...modernHeaders(undefined, 'tools/list'), ...extra };
  if (authorization !== undefined) headers.authorization = authorization;
  const res = await fetch(gw.mcpUrl, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() }),
  });
  return answerOf(res);
}

const bearer = (token: string): Promise<Answer> => list(`Bearer ${token}`);

async function expectInvalid(token: string): Promise<Answer> {
  const a = await bearer(token);
  expectAuthRefusal(a, 'invalid_token', prm);
  return a;
}

async function expectAccepted(token: string): Promise<void> {
  const a = await bearer(token);
  expect(a.status).toBe(200);
  expect(JSON.parse(a.body)).toMatchObject({ jsonrpc: '2.0', id: 1, result: { tools: expect.any(Array) } });
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** RS256 by hand with node:crypto (jose refuses to sign with a key under 2048 bits). */
function rs256(key: ReturnType<typeof generateKeyPairSync>['privateKey'], header: unknown, payload: unknown): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(key).toString('base64url')}`;
}

/** An attacker's own ES256 key pair, with its public JWK. */
async function attackerKey(): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: 'attacker', alg: 'ES256', use: 'sig' } };
}

describe('B.1 JWT and token attacks', () => {
  it('J-01 alg "none" with an empty signature is refused (RC-2), for the HS and the JWKS issuers', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      await expectInvalid(`${b64({ alg, typ: 'JWT' })}.${b64(claims(ISSUER))}.`);
      await expectInvalid(`${b64({ alg, kid: 'RS256-1' })}.${b64(claims(idpA.issuer))}.`);
    }
  });

  it("J-03 HS256 whose HMAC key is the JWKS issuer's RSA public key (PEM, JWK bytes) is 401, not 500", async () => {
    const jwks = (await (await fetch(idpA.jwksUri)).json()) as { keys: JWK[] };
    const pub = jwks.keys.find((k) => k.kid === 'RS256-1')!;
    const pem = await exportSPKI((await importJWK(pub, 'RS256')) as CryptoKey);
    for (const secret of [pem, JSON.stringify(pub), Buffer.from(pub.n ?? '', 'base64url')]) {
      const token = hmacJws({ alg: 'HS256', kid: 'RS256-1' }, JSON.stringify(claims(idpA.issuer)), secret);
      await expectInvalid(token);
    }
  });

  it('J-04 a token signed PS256 or RS512 by the legitimate RSA key, where the issuer pins RS256, is refused', async () => {
    const jwk = rsa.privateKey.export({ format: 'jwk' }) as JWK;
    for (const alg of ['PS256', 'RS512']) {
      const key = await importJWK(jwk, alg);
      await expectInvalid(await new SignJWT(claims(idpK.issuer)).setProtectedHeader({ alg, kid: 'rsa' }).sign(key));
    }
    // The same key with the pinned algorithm is accepted: the refusal above is the algorithm's.
    const key = await importJWK(jwk, 'RS256');
    await expectAccepted(
      await new SignJWT(claims(idpK.issuer)).setProtectedHeader({ alg: 'RS256', kid: 'rsa' }).sign(key),
    );
  });

  it('J-06 a token verified by a 1024-bit RSA key from the JWKS is refused; the failure is audited and counted (the alert)', async () => {
    const alerts = async (): Promise<number> => {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      return Number(/^portcullis_auth_failures_total\{reason="verification_error"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const before = await alerts();
    const a = await expectInvalid(rs256(weak.privateKey, { alg: 'RS256', kid: 'weak' }, claims(idpK.issuer)));
    expect(await alerts()).toBe(before + 1);
    const requestId = a.header('x-request-id');
    await vi.waitFor(
      () =>
        expect(auditEvents(gw).find((e) => e.requestId === requestId)).toMatchObject({
          event: 'auth.failed',
          reason: 'verification_error',
        }),
      { timeout: 10_000, interval: 50 },
    );
  });

  it('J-07 hostile kid values (path traversal, SQL, an object) are refused; the JWKS is fetched at most once', async () => {
    const before = idpA.hits();
    for (const kid of ['../../../../dev/null', "x' OR '1'='1", { $ne: null }, '/etc/passwd\u0000']) {
      await expectInvalid(await idpA.sign('RS256', claims(idpA.issuer), { kid }));
    }
    expect(idpA.hits() - before).toBeLessThanOrEqual(1);
  });

  it('J-09 a jku header naming an attacker JWKS is refused, with zero requests to the jku host', async () => {
    const attacker = await attackerKey();
    const rec = await startRecorder(JSON.stringify({ keys: [attacker.jwk] }));
    try {
      const token = await new SignJWT(claims(idpA.issuer))
        .setProtectedHeader({ alg: 'ES256', kid: 'attacker', jku: `${rec.url}/jwks.json` })
        .sign(attacker.privateKey);
      await expectInvalid(token);
      expect(rec.hits()).toBe(0);
    } finally {
      await rec.close();
    }
  });

  it("J-10 x5c and x5u headers carrying the attacker's certificate are refused; x5u is never fetched", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-x5c-'));
    const rec = await startRecorder('');
    try {
      const { key, cert } = selfSignedCert(dir, 'attacker', false);
      const der = readFileSync(cert, 'utf8').replace(/-----[^-]+-----|\s/g, '');
      const privateKey = await importPKCS8(readFileSync(key, 'utf8'), 'ES256');
      for (const header of [
        { x5c: [der] },
        { x5u: `${rec.url}/cert.pem` },
        { x5c: [der], x5u: `${rec.url}/cert.pem` },
      ]) {
        const token = await new SignJWT(claims(idpA.issuer))
          .setProtectedHeader({ alg: 'ES256', ...header })
          .sign(privateKey);
        await expectInvalid(token);
      }
      expect(rec.hits()).toBe(0);
    } finally {
      await rec.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("J-11 an embedded jwk header with the attacker's public key is refused", async () => {
    const attacker = await attackerKey();
    for (const header of [
      { jwk: attacker.jwk },
      { jwk: attacker.jwk, kid: 'attacker' },
      { jwk: attacker.jwk, kid: 'ES256-1' },
    ]) {
      const token = await new SignJWT(claims(idpA.issuer))
        .setProtectedHeader({ alg: 'ES256', ...header })
        .sign(attacker.privateKey);
      await expectInvalid(token);
    }
  });

  it('J-13 crit b64:false (unencoded payload), and crit naming an unknown extension, are refused', async () => {
    const payload = JSON.stringify(claims(ISSUER));
    // RFC 7797: the signing input is the raw payload.
    const h = b64({ alg: 'HS256', b64: false, crit: ['b64'] });
    const sig = createHmac('sha256', SECRET).update(`${h}.${payload}`).digest('base64url');
    expect((await list(`Bearer ${h}.${Buffer.from(payload).toString('base64url')}.${sig}`)).status).toBe(401);
    await expectInvalid(hmacJws({ alg: 'HS256', b64: false, crit: ['b64'] }, payload, SECRET));
    await expectInvalid(hmacJws({ alg: 'HS256', 'x-portcullis': 1, crit: ['x-portcullis'] }, payload, SECRET));
  });

  it('J-14 an expired token is refused with resource_metadata; the 30 s tolerance holds on both sides', async () => {
    frozen = gatewayNow();
    try {
      const t = nowSec();
      await expectInvalid(await hs(claims(ISSUER, { iat: t - 600, exp: t - 120 })));
      await expectInvalid(await hs(claims(ISSUER, { iat: t - 600, exp: t - 31 })));
      await expectAccepted(await hs(claims(ISSUER, { iat: t - 600, exp: t - 29 })));
      // The same for a JWKS issuer.
      await expectInvalid(await idpA.sign('ES256', claims(idpA.issuer, { iat: t - 600, exp: t - 120 })));
      // A token verified (and cached) while valid is refused once the clock passes exp + tolerance.
      const cached = await hs(claims(ISSUER, { iat: t, exp: t + 60 }));
      await expectAccepted(cached);
      frozen += 91_000;
      await expectInvalid(cached);
    } finally {
      offset = frozen - Date.now();
      frozen = undefined;
    }
  });

  it('J-16 a token without exp is refused (HS and JWKS issuers)', async () => {
    await expectInvalid(await hs(claims(ISSUER, { exp: undefined })));
    await expectInvalid(await idpA.sign('RS256', claims(idpA.issuer, { exp: undefined })));
  });

  it('J-17 exp as a string is refused', async () => {
    await expectInvalid(await hs(claims(ISSUER, { exp: String(nowSec() + 900) })));
    await expectInvalid(await hs(claims(ISSUER, { exp: '9999999999' })));
  });

  it('J-19 a token issued in the future (iat = now + 3600) is refused', async () => {
    await expectInvalid(await hs(claims(ISSUER, { iat: nowSec() + 3600, exp: nowSec() + 7200 })));
  });

  it('J-20 a lifetime far beyond the maximum token age (iat 2 days ago, exp in 10 years) is refused', async () => {
    await expectInvalid(await hs(claims(ISSUER, { iat: nowSec() - 2 * 86400, exp: nowSec() + 10 * 365 * 86400 })));
  });

  it('J-21 a token without iss is refused', async () => {
    await expectInvalid(await hs(claims(ISSUER, { iss: undefined })));
    await expectInvalid(await idpA.sign('RS256', claims(idpA.issuer, { iss: undefined })));
  });

  it('J-23 a token without aud is refused', async () => {
    await expectInvalid(await hs(claims(ISSUER, { aud: undefined })));
    await expectInvalid(await hs(claims(ISSUER, { aud: [] })));
  });

  it('J-24 aud naming another resource (an upstream API, a sibling MCP server) is refused', async () => {
    for (const aud of ['https://api.saas.example/v1', 'https://other.example/mcp', `${gw.url}/other/mcp`]) {
      await expectInvalid(await hs(claims(ISSUER, { aud })));
    }
  });

  it('J-25 (SEC-AUTH-03) aud of the origin without the path, or with a trailing slash, is refused; an upper-case scheme and host are accepted', async () => {
    await expectInvalid(await hs(claims(ISSUER, { aud: gw.url })));
    await expectInvalid(await hs(claims(ISSUER, { aud: `${gw.mcpUrl}/` })));
    await expectInvalid(await hs(claims(ISSUER, { aud: gw.mcpUrl.replace('/mcp', '/MCP') })));
    await expectAccepted(await hs(claims(ISSUER, { aud: gw.mcpUrl.replace('http://', 'HTTP://') })));
  });

  it('J-26 an aud array containing the gateway and another resource: accepted by default, refused under strictAudience', async () => {
    const mixed = (mcpUrl: string): Record<string, unknown> =>
      claims(ISSUER, { aud: [mcpUrl, 'https://evil.example'] });
    await expectAccepted(await hs(mixed(gw.mcpUrl)));
    const strict = await startAuthGateway({ auth: '  strictAudience: true' });
    try {
      const strictPrm = `${strict.url}/.well-known/oauth-protected-resource/mcp`;
      const post = async (token: string): Promise<Answer> =>
        answerOf(await postModern(strict.mcpUrl, token, 'tools/list'));
      const t = Math.floor(Date.now() / 1000); // this gateway runs on the wall clock
      const base = { iss: ISSUER, sub: 'alice', org_id: 'acme', roles: ['user'], iat: t, exp: t + 900 };
      expectAuthRefusal(
        await post(await strict.sign({ ...base, aud: [strict.mcpUrl, 'https://evil.example'] })),
        'invalid_token',
        strictPrm,
      );
      expect((await post(await strict.sign({ ...base, aud: [strict.mcpUrl] }))).status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it("J-27 an ID token (typ JWT, aud = the client's id) used as an access token is refused", async () => {
    const idToken = (aud: string, iss: string) =>
      claims(iss, { aud, nonce: 'n-0S6_WzA2Mj', auth_time: nowSec() - 5, email: 'alice@acme.example', azp: aud });
    await expectInvalid(await idpA.sign('RS256', idToken('portcullis-client', idpA.issuer), { typ: 'JWT' }));
    await expectInvalid(await hs(idToken('portcullis-client', ISSUER), { typ: 'JWT' }));
    // Where the issuer's access tokens are typed at+jwt, even the right aud does not help an ID token.
    await expectInvalid(await idpT.sign('ES256', idToken(gw.mcpUrl, idpT.issuer), { typ: 'JWT' }));
  });

  it('J-28 (SEC-AUTH-14) a staging token (staging iss, or staging aud) is refused by production', async () => {
    await expectInvalid(await hs(claims('urn:portcullis:staging')));
    await expectInvalid(await hs(claims(ISSUER, { aud: 'https://staging.mcp.example.com/mcp' })));
  });

  it("J-29 iss = IdP B, signed with IdP A's key under the same kid, is refused", async () => {
    // Both IdPs name their ES256 key `ES256-1`: a union of key sets would find A's key.
    await expectInvalid(await idpA.sign('ES256', claims(idpB.issuer)));
    await expectInvalid(await idpA.sign('RS256', claims(idpB.issuer)));
    await expectAccepted(await idpB.sign('ES256', claims(idpB.issuer)));
  });

  it('J-29b iss = a JWKS issuer, alg HS256, signed with the HS service secret, is refused', async () => {
    await expectInvalid(await hs(claims(idpA.issuer)));
    await expectInvalid(await hs(claims(idpA.issuer), { kid: 'RS256-1' }));
  });

  it('J-30 a valid acme token naming globex in a tenant-bound argument gets isError (RC-17); the tool never runs; audit tenant_mismatch', async () => {
    const before = seenCalls().length;
    const res = await postModern(gw.mcpUrl, await gw.token('alice'), 'tools/call', {
      name: 'sec_record',
      arguments: { tenantId: 'globex', note: 'cross-tenant' },
    });
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id');
    const body = (await res.json()) as { result: { isError?: boolean; content: { type: string; text: string }[] } };
    expect(body.result.isError).toBe(true);
    expect(body.result.content[0]?.text).toMatch(/\(ref [^)]+\)$/);
    expect(body.result.content[0]?.text).not.toContain('globex');
    expect(seenCalls().length).toBe(before);
    await vi.waitFor(
      () =>
        expect(auditEvents(gw).find((e) => e.requestId === requestId)).toMatchObject({
          tool: 'sec_record',
          outcome: 'denied',
          user: 'alice',
          tenant: 'acme',
          reason: 'tenant_mismatch',
        }),
      { timeout: 10_000, interval: 50 },
    );
  });

  it('J-31 (SEC-AUTH-11) identity headers (X-User-Id, X-Tenant-Id, X-Roles) are ignored', async () => {
    const before = seenCalls().length;
    const spoof = { 'x-user-id': 'carol', 'x-tenant-id': 'globex', 'x-roles': 'admin', 'x-forwarded-user': 'carol' };
    const token = await gw.token('alice');
    const res = await postModern(
      gw.mcpUrl,
      token,
      'tools/call',
      { name: 'sec_record', arguments: { note: 'x' } },
      { headers: spoof },
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { result: { isError?: boolean } }).result.isError).toBeFalsy();
    expect(seenCalls().slice(before)).toEqual([
      { tool: 'sec_record', args: { tenantId: 'acme', note: 'x' }, user: 'alice', tenant: 'acme' },
    ]);
    const tools = JSON.parse((await list(`Bearer ${token}`, spoof)).body) as { result: { tools: { name: string }[] } };
    expect(tools.result.tools.map((t) => t.name)).not.toContain('deprovision_tenant');
  });

  it('J-32 duplicate member names in the payload or header (`"sub":"alice",…,"sub":"carol"`) are refused', async () => {
    const t = nowSec();
    const payload = `{"iss":${JSON.stringify(ISSUER)},"aud":${JSON.stringify(gw.mcpUrl)},"sub":"alice","org_id":"acme","roles":["admin"],"iat":${t},"exp":${t + 900},"sub":"carol"}`;
    await expectInvalid(hmacJws({ alg: 'HS256' }, payload, SECRET));
    // Escaped spelling of the same name, and a duplicate nested inside a claim.
    await expectInvalid(hmacJws({ alg: 'HS256' }, payload.replace('"sub":"carol"', '"s\\u0075b":"carol"'), SECRET));
    await expectInvalid(hmacJws({ alg: 'HS256' }, payload.replace(',"sub":"carol"', ',"x":{"a":1,"a":2}'), SECRET));
    const header = '{"alg":"HS256","typ":"JWT","typ":"at+jwt"}';
    const h = Buffer.from(header).toString('base64url');
    const p = Buffer.from(JSON.stringify(claims(ISSUER))).toString('base64url');
    await expectInvalid(`${h}.${p}.${createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url')}`);
    // Controls: the same payload without the duplicate, or with equal names in sibling objects, is accepted.
    await expectAccepted(hmacJws({ alg: 'HS256' }, payload.replace(',"sub":"carol"', ''), SECRET));
    await expectAccepted(
      hmacJws({ alg: 'HS256' }, payload.replace(',"sub":"carol"', ',"x":[{"a":1,"b":{}},{"a":"}{,\\"a"}]'), SECRET),
    );
  });

  it('J-33 a 9 KiB token is refused before decoding (RC-2); a 20 KiB Authorization header gets 431', async () => {
    await expectInvalid(await hs(claims(ISSUER, { pad: 'x'.repeat(7 * 1024) })));
    await expectInvalid('a'.repeat(9 * 1024));
    const raw = parseRaw(
      await rawExchange(
        gw.port,
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nContent-Type: application/json\r\n` +
          `Authorization: Bearer ${'a'.repeat(20 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`,
      ),
    );
    expect(raw.status).toBe(431);
    expect(raw.header('connection')).toBe('close');
  });

  it('J-35 a payload that is [], null, 123 or "x" is refused', async () => {
    for (const payload of ['[]', 'null', '123', '"x"']) {
      await expectInvalid(hmacJws({ alg: 'HS256', typ: 'JWT' }, payload, SECRET));
    }
  });

  it('J-36 a token in the query, a cookie or the body is not a credential (RC-1); header plus query is RC-3; no token is logged or audited', async () => {
    const tokens = await Promise.all([1, 2, 3, 4, 5].map((n) => gw.token('alice', { jti: `j36-${n}` })));
    const [q, c, f, j, both] = tokens as [string, string, string, string, string];
    const ids: (string | undefined)[] = [];
    const check = async (res: Response, kind: 'missing' | 'invalid_request') => {
      const a = await answerOf(res);
      expectAuthRefusal(a, kind, prm);
      ids.push(a.header('x-request-id'));
    };
    const headers = modernHeaders(undefined, 'tools/list');
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() });
    await check(await fetch(`${gw.mcpUrl}?access_token=${q}`, { method: 'POST', headers, body }), 'missing');
    await check(
      await fetch(gw.mcpUrl, { method: 'POST', headers: { ...headers, cookie: `access_token=${c}` }, body }),
      'missing',
    );
    await check(
      await fetch(gw.mcpUrl, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: `access_token=${f}`,
      }),
      'missing',
    );
    await check(
      await fetch(gw.mcpUrl, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams(), access_token: j }),
      }),
      'missing',
    );
    await check(
      await fetch(`${gw.mcpUrl}?access_token=${both}`, {
        method: 'POST',
        headers: { ...headers, authorization: `Bearer ${both}` },
        body,
      }),
      'invalid_request',
    );
    // Once the refusals are stored, neither the log nor the audit database holds any of the tokens.
    await vi.waitFor(
      () => {
        const stored = new Set(auditEvents(gw).map((e) => e.requestId));
        expect(ids.every((id) => id !== undefined && stored.has(id))).toBe(true);
      },
      { timeout: 10_000, interval: 50 },
    );
    // The refusals are logged (so the log is really captured), without the tokens.
    expect(ids.every((id) => logs.lines.some((l) => l.includes(`"requestId":"${id}"`)))).toBe(true);
    const logText = logs.lines.join('');
    const db = auditBytes(gw);
    for (const token of tokens) {
      const signature = token.split('.')[2] ?? '';
      expect(logText).not.toContain(signature);
      expect(db).not.toContain(signature);
    }
  });

  it('J-37 (SEC-AUTH-09) two Authorization headers, each with a valid token, are malformed credentials (RC-3)', async () => {
    const [a, b] = [await gw.token('alice'), await gw.token('bob')];
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() });
    const raw = parseRaw(
      await rawExchange(
        gw.port,
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nContent-Type: application/json\r\n` +
          `Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/list\r\n` +
          `Authorization: Bearer ${a}\r\nAuthorization: Bearer ${b}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      ),
    );
    expectAuthRefusal(raw, 'invalid_request', prm);
    // One header with two tokens joined by a comma is malformed too.
    expectAuthRefusal(await list(`Bearer ${a}, Bearer ${b}`), 'invalid_request', prm);
  });

  it('J-38 other schemes are no credentials (RC-1), a malformed Bearer is RC-3, the scheme name is case-insensitive', async () => {
    const token = await gw.token('alice');
    expectAuthRefusal(await list('Basic YWxpY2U6cGFzc3dvcmQ='), 'missing', prm);
    expectAuthRefusal(await list(`Bearer-invalid ${token}`), 'missing', prm);
    expectAuthRefusal(await list(`Token ${token}`), 'missing', prm);
    for (const value of [
      'Bearer',
      'Bearer ',
      `Bearer  ${token}`,
      `Bearer ${token} extra`,
      'Bearer x y',
      'Bearer "x"',
    ]) {
      expectAuthRefusal(await list(value), 'invalid_request', prm);
    }
    expect((await list(`bearer ${token}`)).status).toBe(200);
    expect((await list(`BEARER ${token}`)).status).toBe(200);
  });

  it('J-39 where at+jwt is enforced, typ "JWT" or no typ is refused; at+jwt and application/at+jwt are accepted', async () => {
    await expectInvalid(await idpT.sign('ES256', claims(idpT.issuer), { typ: 'JWT' }));
    await expectInvalid(await idpT.sign('ES256', claims(idpT.issuer)));
    await expectInvalid(await idpT.sign('ES256', claims(idpT.issuer), { typ: 'at+JWT+x' }));
    await expectAccepted(await idpT.sign('ES256', claims(idpT.issuer), { typ: 'at+jwt' }));
    await expectAccepted(await idpT.sign('ES256', claims(idpT.issuer), { typ: 'application/at+jwt' }));
  });

  it('J-08 (SEC-AUTH-10) a flood of unknown kids fetches the JWKS at most once per cooldown', async () => {
    const before = idpA.hits();
    for (let i = 0; i < 20; i++) {
      await expectInvalid(await idpA.sign('ES256', claims(idpA.issuer), { kid: `random-${i}-${Math.random()}` }));
    }
    expect(idpA.hits() - before).toBeLessThanOrEqual(1);
  });

  it('J-40 a JWKS endpoint answering 500, HTML, a redirect, never, or not at all: 503 with Retry-After, never 2xx', async () => {
    // Signed with IdP A's RS256 key, so a gateway following the redirect to A's JWKS would accept it.
    const token = await idpA.sign('RS256', claims(bad.issuer));
    const aHits = idpA.hits();
    for (const [mode, target] of [['status500'], ['html'], ['redirect', idpA.jwksUri], ['hang']] as const) {
      bad.mode(mode, target);
      const hits = bad.hits();
      expectUnavailable(await bearer(token));
      expect(bad.hits()).toBeGreaterThan(hits);
    }
    expect(idpA.hits()).toBe(aHits);
    await bad.close();
    expectUnavailable(await bearer(token));
  }, 30_000);

  it('J-42 a replayed token is accepted from another address (bearer semantics); the audit records each address', async () => {
    const token = await gw.token('alice');
    const from = (localAddress: string) =>
      new Promise<string | undefined>((resolve, reject) => {
        const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() });
        const req = httpRequest(
          gw.mcpUrl,
          { method: 'POST', localAddress, agent: false, headers: { ...modernHeaders(token, 'tools/list') } },
          (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode === 200
                ? resolve(res.headers['x-request-id'] as string)
                : reject(new Error(String(res.statusCode))),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const first = await from('127.0.0.1');
    const replay = await from('127.0.0.2');
    await vi.waitFor(
      () => {
        const events = auditEvents(gw);
        expect(events.find((e) => e.requestId === first)).toMatchObject({
          event: 'tools.listed',
          user: 'alice',
          ip: '127.0.0.1',
        });
        expect(events.find((e) => e.requestId === replay)).toMatchObject({
          event: 'tools.listed',
          user: 'alice',
          ip: '127.0.0.2',
        });
      },
      { timeout: 10_000, interval: 50 },
    );
  });

  it('J-43 a valid token lacking a scope the tool needs gets 403 insufficient_scope naming every needed scope (RC-4)', async () => {
    const call = async (scope: string) =>
      postModern(gw.mcpUrl, await gw.token('alice', { scope }), 'tools/call', {
        name: 'sec_files',
        arguments: { text: 'hi' },
      });
    const res = await call('files:read');
    expect(res.status).toBe(403);
    const { scheme, params } = parseChallenge(res.headers.get('www-authenticate'));
    expect(scheme).toBe('Bearer');
    expect(params.error).toBe('insufficient_scope');
    expect(params.scope?.split(' ').sort()).toEqual(['files:read', 'files:write']);
    expect(params.resource_metadata).toBe(prm);
    await res.text();
    const ok = await call('files:read files:write');
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { result: { isError?: boolean } }).result.isError).toBeFalsy();
  });

  it('J-44 (SEC-AUTH-11) email, preferred_username and _meta identity hints never change the principal', async () => {
    const before = seenCalls().length;
    const token = await gw.token('alice', {
      email: 'carol@acme.example',
      preferred_username: 'carol',
      tenant: 'globex',
    });
    const res = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: modernHeaders(token, 'tools/call', { 'mcp-name': 'sec_record' }),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: 'sec_record',
          arguments: { note: 'meta' },
          _meta: { ...(modernParams()._meta as object), tenant: 'globex', user: 'carol', 'x-user-id': 'carol' },
        },
      }),
    });
    expect(res.status).toBe(200);
    await res.text();
    expect(seenCalls().slice(before)).toEqual([
      { tool: 'sec_record', args: { tenantId: 'acme', note: 'meta' }, user: 'alice', tenant: 'acme' },
    ]);
  });
});
