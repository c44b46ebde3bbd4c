/**
 * A config that references the Petstore and GitHub's REST description through `openapi:`: the
 * tools are generated at start, a principal with every role and scope lists every one of them
 * over a real gateway on loopback, and an imported tool calls a real loopback upstream.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, loadConfigText } from '../../../src/config/load.js';
import { createGateway } from '../../../src/gateway.js';
import type { Gateway } from '../../../src/gateway.js';
import { createLogger } from '../../../src/observability/log.js';
import { importOpenApi } from '../../../src/tools/openapi/import.js';
import { freePort } from '../../helpers/gateway.js';
import { startUpstream } from '../../helpers/upstream.js';
import type { TestUpstream } from '../../helpers/upstream.js';
import { postModern } from '../../integration/support.js';
import { GITHUB_SPEC, PETSTORE } from './support.js';

const SECRET = 'openapi-e2e-secret-0123456789abcdef0123456789';
const ISSUER = 'urn:portcullis:openapi-test';

function configYaml(petstoreUrl: string): string {
  return `dataDir: ./data
auth:
  issuers:
    - issuer: ${ISSUER}
      algorithms: [HS256]
      secret: ${SECRET}
  roles: [user, admin]
upstreams:
  petstore:
    baseUrl: ${petstoreUrl}/api/v3
    allowPrivateNetwork: true
    allowInsecureHttp: true
  github:
    baseUrl: https://api.github.com
openapi:
  - spec: ./petstore.yaml
    upstream: petstore
    roles: [user]
    roleMap: { "write:pets": [admin] }
    prefix: pet_
  - spec: ${GITHUB_SPEC}
    upstream: github
    roles: [user, admin]
    prefix: gh_
`;
}

describe('openapi: in the config', () => {
  let dir: string;
  let upstream: TestUpstream;
  let gateway: Gateway;
  let mcpUrl: string;
  let expected: string[];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'portcullis-oas-e2e-'));
    copyFileSync(PETSTORE, path.join(dir, 'petstore.yaml'));
    upstream = await startUpstream();
    const file = path.join(dir, 'portcullis.yaml');
    writeFileSync(file, configYaml(upstream.url));
    const config = loadConfigFile(file, { port: await freePort(), env: {} });
    gateway = await createGateway(config, { logger: createLogger('silent') });
    mcpUrl = `${(await gateway.listen()).url}/mcp`;
    expected = [
      ...importOpenApi(PETSTORE, { prefix: 'pet_' }).tools.map((t) => t.name),
      ...importOpenApi(GITHUB_SPEC, { prefix: 'gh_' }).tools.map((t) => t.name),
    ];
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function token(roles: string[], scope?: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ roles, org_id: 'acme', ...(scope && { scope }) })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setSubject('ops')
      .setAudience(mcpUrl)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(SECRET));
  }

  async function listNames(bearer: string): Promise<string[]> {
    const res = await postModern(mcpUrl, bearer, 'tools/list');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { tools: { name: string }[] } };
    return body.result.tools.map((t) => t.name);
  }

  it('generates every operation of both specs as a tool at start', () => {
    expect(expected.length).toBeGreaterThan(1000);
    expect(gateway.catalog.size).toBe(expected.length);
  });

  it('lists every imported tool to a principal with all roles and scopes', async () => {
    const names = await listNames(await token(['user', 'admin'], 'write:pets read:pets'));
    expect(names.length).toBe(expected.length);
    expect(new Set(names)).toEqual(new Set(expected));
  });

  it('hides the tools whose roles or scopes the principal lacks', async () => {
    const names = new Set(await listNames(await token(['user'])));
    expect(names.has('pet_getInventory')).toBe(true); // no security requirement, default role user
    expect(names.has('pet_getPetById')).toBe(false); // needs the petstore_auth scopes
    expect(names.has('gh_repos_get')).toBe(true);
  });

  it('calls the upstream through an imported tool, with path and query mapped', async () => {
    const bearer = await token(['user', 'admin'], 'write:pets read:pets');
    const res = await postModern(mcpUrl, bearer, 'tools/call', {
      name: 'pet_findPetsByTags',
      arguments: { tags: ['a', 'b'] },
    });
    const body = (await res.json()) as { result: { isError?: boolean; content: { text: string }[] } };
    expect(body.result.isError).not.toBe(true);
    const seen = upstream.requests.at(-1)!;
    expect(seen.method).toBe('GET');
    expect(seen.rawUrl).toBe('/api/v3/pet/findByTags?tags=a&tags=b');
    expect(JSON.stringify(seen.headers)).not.toContain(bearer.split('.')[2]!);
  });

  it('reports a spec that cannot be used with its config path', () => {
    const text = configYaml('https://petstore.example.com')
      .replace('./petstore.yaml', './missing.yaml')
      .replace('upstream: github', 'upstream: nowhere');
    expect(() => loadConfigText(text, { baseDir: dir, env: {} })).toThrow(
      expect.objectContaining({
        problems: expect.arrayContaining([
          expect.stringMatching(/^\/openapi\/0\/spec: cannot read spec/),
          "/openapi/1/upstream: no upstream named 'nowhere'",
        ]),
      }),
    );
  });

  it('names the openapi entry and the tool in problems about a generated tool', () => {
    const text = configYaml('https://petstore.example.com').replace(
      'roles: [user]\n    roleMap',
      'roles: [nobody]\n    roleMap',
    );
    expect(() => loadConfigText(text, { baseDir: dir, env: {} })).toThrow(
      expect.objectContaining({
        problems: expect.arrayContaining(['/openapi/0 (pet_getInventory)/roles/0: role nobody is not in /auth/roles']),
      }),
    );
  });
});
