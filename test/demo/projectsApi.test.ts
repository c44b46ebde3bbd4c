/**
 * The demo Projects API on its own: it answers only to the gateway's JWT (right issuer, audience,
 * key, fresh), takes the tenant and user from that token alone, and keeps tenants apart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProjectsApi } from '../../src/demo/projectsApi.js';
import type { ProjectsApi } from '../../src/demo/projectsApi.js';
import { openProjectsStore } from '../../src/demo/projectsStore.js';
import type { ProjectsStore } from '../../src/demo/projectsStore.js';

const ISSUER = 'http://127.0.0.1:3000';
const AUDIENCE = 'urn:portcullis:demo-projects-api';

let dir: string;
let store: ProjectsStore;
let api: ProjectsApi;
let key: CryptoKey;
let otherKey: CryptoKey;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portcullis-projects-'));
  store = openProjectsStore(path.join(dir, 'demo.sqlite'));
  const pair = await generateKeyPair('ES256');
  key = pair.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  api = await startProjectsApi({ store, keys: createLocalJWKSet({ keys: [jwk] }), issuer: ISSUER, audience: AUDIENCE });
});

afterAll(async () => {
  await api.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function token(
  claims: Record<string, unknown>,
  opts: { signWith?: CryptoKey; aud?: string; iss?: string; exp?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(opts.exp ?? now + 60)
    .sign(opts.signWith ?? key);
}

const as = (user: string, tenant: string) => token({ sub: user, org_id: tenant, roles: ['user'] });

async function call(
  method: string,
  pathAndQuery: string,
  bearer: string | undefined,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${api.url}${pathAndQuery}`, {
    method,
    headers: {
      ...(bearer !== undefined && { authorization: `Bearer ${bearer}` }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('demo Projects API', () => {
  it('lists only the projects of the tenant named in the gateway token', async () => {
    const acme = await call('GET', '/projects', await as('alice', 'acme'));
    expect(acme.status).toBe(200);
    const ids = (acme.json as { projects: { id: string }[] }).projects.map((p) => p.id);
    expect(ids).toEqual(['prj_hermes', 'prj_apollo']);
    const globex = await call('GET', '/projects', await as('bob', 'globex'));
    expect((globex.json as { projects: { id: string }[] }).projects.map((p) => p.id)).toEqual(['prj_atlas']);
  });

  it("answers another tenant's project like a missing one", async () => {
    const bob = await as('bob', 'globex');
    expect(await call('GET', '/projects/prj_apollo', bob)).toEqual({ status: 404, json: { error: 'not_found' } });
    expect(await call('GET', '/projects/prj_nosuch', bob)).toEqual({ status: 404, json: { error: 'not_found' } });
    expect((await call('GET', '/projects/prj_atlas', bob)).status).toBe(200);
  });

  it('creates a project owned by the token user and tenant, then archives it', async () => {
    const alice = await as('alice', 'acme');
    const created = await call('POST', '/projects', alice, { name: 'Zephyr', description: 'Edge cache' });
    expect(created.status).toBe(201);
    const p = created.json as { id: string; createdBy: string; status: string };
    expect(p).toMatchObject({ name: 'Zephyr', createdBy: 'alice', status: 'active' });
    expect((await call('GET', `/projects/${p.id}`, await as('bob', 'globex'))).status).toBe(404);
    const archived = await call('DELETE', `/projects/${p.id}`, alice);
    expect(archived.status).toBe(200);
    expect(archived.json).toMatchObject({ id: p.id, status: 'archived' });
    const active = await call('GET', '/projects?status=active', alice);
    expect((active.json as { projects: { id: string }[] }).projects.map((x) => x.id)).not.toContain(p.id);
  });

  it('refuses bad input with 400 and names the field', async () => {
    const alice = await as('alice', 'acme');
    expect(await call('POST', '/projects', alice, { name: '' })).toEqual({
      status: 400,
      json: { error: 'invalid_request', field: 'name' },
    });
    expect((await call('GET', '/projects?limit=0', alice)).status).toBe(400);
    expect((await call('GET', '/projects?status=deleted', alice)).status).toBe(400);
  });

  it('answers 401 to anything but a fresh gateway token for this audience', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad = [
      undefined,
      'not-a-jwt',
      await token({ sub: 'alice', org_id: 'acme' }, { signWith: otherKey }),
      await token({ sub: 'alice', org_id: 'acme' }, { aud: 'urn:someone-else' }),
      await token({ sub: 'alice', org_id: 'acme' }, { iss: 'urn:portcullis:dev' }),
      await token({ sub: 'alice', org_id: 'acme' }, { exp: now - 120 }),
      await token({ sub: 'alice' }),
    ];
    for (const bearer of bad) {
      expect(await call('GET', '/projects', bearer)).toEqual({ status: 401, json: { error: 'unauthorized' } });
    }
  });
});
