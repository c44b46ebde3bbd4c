/**
 * `upstreams`, `upstreamSigning` and `http` tools in the config: defaults, the exactly-one-backend
 * rule, and every refused definition reported with its path (SEC-UP-04/05 at load time).
 */
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { PortcullisError } from '../../src/errors.js';

const SECRET = 'x'.repeat(40);
const base = `
auth:
  issuers:
    - issuer: urn:test
      algorithms: [HS256]
      secret: \${env:SECRET}
`;

const input = `
    input:
      type: object
      properties:
        id: { type: string, maxLength: 64 }
        q: { type: string, maxLength: 64 }
        trace: { type: string, maxLength: 64 }
        amount: { type: integer }
        confirm: { type: boolean }`;

function tool(http: string, extra = ''): string {
  return `
tools:
  - name: t
    description: d
    roles: [user]${input}
${extra}    http:
${http
  .trim()
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
`;
}

const upstreams = (u = 'baseUrl: https://api.example.com/v1') => `
upstreams:
  api:
${u
  .trim()
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`;

function load(text: string, env: Record<string, string> = {}) {
  return loadConfigText(base + text, { env: { SECRET, ...env }, baseDir: '/tmp/cfg' });
}

function problemsOf(text: string, env: Record<string, string> = {}): string {
  try {
    load(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(PortcullisError);
    return (err as PortcullisError).problems.join('\n');
  }
  throw new Error('the config loaded');
}

describe('upstreams', () => {
  it('fills defaults: https, public addresses only, 2 s connect, 10 s total, 1 MiB, 64 in flight, circuit after 5 faults for 30 s', () => {
    const c = load(upstreams());
    expect(c.upstreams.api).toEqual({
      name: 'api',
      baseUrl: 'https://api.example.com/v1',
      origin: 'https://api.example.com',
      hostname: 'api.example.com',
      basePath: '/v1',
      allowPrivateNetwork: false,
      allowInsecureHttp: false,
      connectTimeoutMs: 2000,
      timeoutMs: 10000,
      maxResponseBytes: 1048576,
      maxConcurrent: 64,
      circuitBreaker: { failures: 5, cooldownMs: 30_000 },
      identityHeaders: false,
      headers: {},
    });
    expect(c.upstreamSigning).toEqual({
      keyFile: '/tmp/cfg/.portcullis/upstream-signing-key.json',
      algorithm: 'ES256',
      issuer: 'http://127.0.0.1:3000',
    });
    expect(Object.isFrozen(c.upstreams.api)).toBe(true);
  });

  it('resolves each credential kind; the gateway JWT audience defaults to the upstream origin', () => {
    expect(load(upstreams('baseUrl: https://a.example\nauth: { gatewayJwt: {} }')).upstreams.api?.auth).toEqual({
      kind: 'gatewayJwt',
      audience: 'https://a.example',
      ttlSec: 60,
    });
    expect(
      load(upstreams('baseUrl: https://a.example\nauth: { apiKey: { header: X-Api-Key, value: "${env:K}" } }'), {
        K: 'k-123',
      }).upstreams.api?.auth,
    ).toEqual({ kind: 'apiKey', header: 'x-api-key', value: 'k-123' });
    expect(
      load(
        upstreams(
          'baseUrl: https://a.example\nauth: { oauthClientCredentials: { tokenUrl: https://idp.example/token, clientId: c, clientSecret: s, scope: read } }',
        ),
      ).upstreams.api?.auth,
    ).toMatchObject({ kind: 'oauthClientCredentials', tokenUrl: 'https://idp.example/token', scope: 'read' });
  });

  it('refuses plain http unless allowInsecureHttp and allowPrivateNetwork are both set', () => {
    expect(problemsOf(upstreams('baseUrl: http://127.0.0.1:8080'))).toMatch(
      /\/upstreams\/api\/baseUrl: plain http needs allowInsecureHttp/,
    );
    expect(problemsOf(upstreams('baseUrl: http://127.0.0.1:8080\nallowInsecureHttp: true'))).toMatch(
      /\/upstreams\/api\/allowInsecureHttp: plain http is only allowed to private addresses/,
    );
    const ok = load(upstreams('baseUrl: http://127.0.0.1:8080\nallowInsecureHttp: true\nallowPrivateNetwork: true'));
    expect(ok.upstreams.api?.origin).toBe('http://127.0.0.1:8080');
  });

  it('refuses base URLs with credentials, a query, a fragment, dot segments or another scheme', () => {
    for (const [url, why] of [
      ['https://user:pw@api.example.com', /must not contain credentials/],
      ['https://api.example.com/v1?x=1', /query or fragment/],
      ['https://api.example.com/v1#f', /query or fragment/],
      ['https://api.example.com/v1/../admin', /./],
      ['https://api.example.com/v1/%2e%2e/admin', /% or dot segments/],
      ['ftp://api.example.com', /must match pattern/],
    ] as const) {
      expect(problemsOf(upstreams(`baseUrl: "${url}"`)), url).toMatch(why);
    }
  });

  it('refuses reserved or malformed header names, CR/LF values, two credentials, bad names', () => {
    expect(problemsOf(upstreams('baseUrl: https://a.example\nheaders: { Authorization: x }'))).toMatch(
      /\/upstreams\/api\/headers\/Authorization: header name not allowed/,
    );
    expect(problemsOf(upstreams('baseUrl: https://a.example\nheaders: { X-Portcullis-User: x }'))).toMatch(
      /header name not allowed/,
    );
    expect(problemsOf(upstreams('baseUrl: https://a.example\nheaders: { X-A: "a\\r\\nX-B: 1" }'))).toMatch(
      /forbidden characters/,
    );
    expect(
      problemsOf(upstreams('baseUrl: https://a.example\nauth: { gatewayJwt: {}, apiKey: { header: X-K, value: v } }')),
    ).toMatch(/\/upstreams\/api\/auth: must NOT have more than 1 properties/);
    expect(problemsOf('upstreams:\n  "bad name": { baseUrl: https://a.example }')).toMatch(/\/upstreams/);
    expect(problemsOf('upstreams:\n  __proto__: { baseUrl: https://a.example }')).toMatch(/\/upstreams/);
  });

  it('takes upstreamSigning overrides, the key file relative to dataDir', () => {
    const c = load('dataDir: /var/lib/p\nupstreamSigning: { keyFile: keys/up.json, algorithm: EdDSA, issuer: urn:gw }');
    expect(c.upstreamSigning).toEqual({ keyFile: '/var/lib/p/keys/up.json', algorithm: 'EdDSA', issuer: 'urn:gw' });
  });
});

describe('http tools', () => {
  it('resolves the mapping: lower-case header names, tenant placement, success statuses', () => {
    const c = load(
      upstreams() +
        tool(`
upstream: api
method: POST
path: /items/{id}
query: { search: q }
headers: { X-Trace: trace }
body: { args: [amount] }
tenant: { body: org_id }
successStatus: [201]`),
    );
    expect(c.tools[0]?.backend).toEqual({
      kind: 'http',
      upstream: 'api',
      method: 'POST',
      path: '/items/{id}',
      query: { search: 'q' },
      headers: { 'x-trace': 'trace' },
      body: { args: ['amount'] },
      tenant: { in: 'body', name: 'org_id' },
      successStatus: [201],
    });
  });

  it('a tool has exactly one backend: module or http', () => {
    expect(
      problemsOf(upstreams() + tool('upstream: api\nmethod: GET\npath: /x', '    module: { builtin: demo.echo }\n')),
    ).toMatch(/\/tools\/0: must match exactly one schema in oneOf/);
    expect(
      problemsOf(`
tools:
  - name: t
    description: d
    roles: [user]
    input: { type: object }
`),
    ).toMatch(/\/tools\/0: must match exactly one schema in oneOf/);
  });

  it('refuses an unknown upstream, unknown path variables and arguments, and mapping confirm', () => {
    const p = problemsOf(
      upstreams() +
        tool(`
upstream: nope
method: POST
path: /items/{nothere}
query: { c: confirm, x: missing }
body: { arg: alsomissing }`),
    );
    expect(p).toMatch(/\/tools\/0\/http\/upstream: no upstream named 'nope'/);
    expect(p).toMatch(/\/tools\/0\/http\/path \{nothere\}: 'nothere' is not a property of the input schema/);
    expect(p).toMatch(/\/tools\/0\/http\/query\/c: 'confirm' is never sent upstream/);
    expect(p).toMatch(/\/tools\/0\/http\/query\/x: 'missing' is not a property/);
    expect(p).toMatch(/\/tools\/0\/http\/body\/arg: 'alsomissing' is not a property/);
  });

  it('refuses path templates that could leave the prefix or are not plain paths', () => {
    for (const path of ['/a/../b', '/a/./b', '/a//b', '/a/%2e%2e', '/a?x=1', '/a#f', '/{id}/..']) {
      expect(problemsOf(upstreams() + tool(`upstream: api\nmethod: GET\npath: "${path}"`)), path).toMatch(
        /\/tools\/0\/http\/path: /,
      );
    }
  });

  it('refuses a body on GET, reserved mapped headers, tenant in body without a body, tenant path not in the path', () => {
    expect(problemsOf(upstreams() + tool('upstream: api\nmethod: GET\npath: /x\nbody: { args: [q] }'))).toMatch(
      /\/tools\/0\/http\/body: GET requests have no body/,
    );
    expect(
      problemsOf(upstreams() + tool('upstream: api\nmethod: GET\npath: /x\nheaders: { Authorization: q }')),
    ).toMatch(/\/tools\/0\/http\/headers\/authorization: header name not allowed/);
    expect(problemsOf(upstreams() + tool('upstream: api\nmethod: GET\npath: /x\ntenant: { body: org }'))).toMatch(
      /\/tools\/0\/http\/tenant\/body: the request has no body mapping/,
    );
    expect(problemsOf(upstreams() + tool('upstream: api\nmethod: GET\npath: /x\ntenant: { path: org }'))).toMatch(
      /\/tools\/0\/http\/tenant\/path: the path has no \{org\}/,
    );
    expect(
      problemsOf(upstreams() + tool('upstream: api\nmethod: GET\npath: /x\ntenant: { query: a, header: B }')),
    ).toMatch(/\/tools\/0\/http\/tenant: must NOT have more than 1 properties/);
  });

  it('a tenant path variable need not be an input property', () => {
    const c = load(
      upstreams() + tool('upstream: api\nmethod: GET\npath: /orgs/{org}/items/{id}\ntenant: { path: org }'),
    );
    expect(c.tools[0]?.backend).toMatchObject({ tenant: { in: 'path', name: 'org' } });
  });
});

describe('mcp tools (federation)', () => {
  const mcpTool = (mcp: string, extra = '') => `
tools:
  - name: t
    description: d
    roles: [user]${input}
${extra}    mcp: ${mcp}
`;

  it('loads an upstream MCP tool with an optional pin', () => {
    const pin = `sha256:${'a'.repeat(64)}`;
    const c = load(
      upstreams('baseUrl: https://crm.example.com/mcp') + mcpTool(`{ upstream: api, tool: search, pin: "${pin}" }`),
    );
    expect(c.tools[0]?.backend).toEqual({ kind: 'mcp', upstream: 'api', tool: 'search', pin });
  });

  it('refuses an unknown upstream, a bad pin or upstream tool name, and a second backend', () => {
    expect(problemsOf(upstreams() + mcpTool('{ upstream: nope, tool: search }'))).toMatch(
      /\/tools\/0\/mcp\/upstream: no upstream named 'nope'/,
    );
    expect(problemsOf(upstreams() + mcpTool('{ upstream: api, tool: search, pin: "md5:1" }'))).toMatch(
      /\/tools\/0\/mcp\/pin/,
    );
    expect(problemsOf(upstreams() + mcpTool('{ upstream: api, tool: "a b" }'))).toMatch(/\/tools\/0\/mcp\/tool/);
    expect(
      problemsOf(upstreams() + mcpTool('{ upstream: api, tool: search }', '    module: { builtin: demo.echo }\n')),
    ).toMatch(/\/tools\/0: must match exactly one schema in oneOf/);
  });
});
