/** Config loading: every problem reported at once with its path; secure defaults; env interpolation. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { PortcullisError } from '../../src/errors.js';

const SECRET = 'x'.repeat(40);
const minimal = (extra = '') => `
auth:
  issuers:
    - issuer: urn:test
      algorithms: [HS256]
      secret: \${env:SECRET}
${extra}`;

function problemsOf(text: string, env: Record<string, string> = { SECRET }): string[] {
  try {
    loadConfigText(text, { env, baseDir: '/tmp' });
  } catch (err) {
    expect(err).toBeInstanceOf(PortcullisError);
    return [...(err as PortcullisError).problems];
  }
  return [];
}

describe('loadConfigText', () => {
  it('fills defaults: loopback bind, canonical audience, 1 MiB body limit, localhost origins', () => {
    const c = loadConfigText(minimal(), { env: { SECRET }, baseDir: '/tmp' });
    expect(c.server.host).toBe('127.0.0.1');
    expect(c.server.publicUrl).toBe('http://127.0.0.1:3000');
    expect(c.auth.audiences).toEqual(['http://127.0.0.1:3000/mcp']);
    expect(c.server.bodyLimitBytes).toBe(1024 * 1024);
    expect(c.server.allowedHosts).toContain('localhost');
    expect(c.server.allowedOrigins).toContain('http://localhost:3000');
    expect(c.auth.issuers[0]?.secret).toBe(SECRET);
    expect(Object.isFrozen(c.server)).toBe(true);
  });

  it('reports every problem at once, each with its path', () => {
    const problems = problemsOf(
      `
auth:
  issuers:
    - issuer: urn:test
      algorithms: [HS256]
      secret: short
  colour: blue
server:
  port: 70000
tools:
  - name: "bad name"
    description: x
    input: { type: object }
    roles: []
    module: { builtin: demo.x }
`,
    );
    expect(problems.join('\n')).toMatch(/\/auth: must NOT have additional properties 'colour'/);
    expect(problems.join('\n')).toMatch(/\/server\/port/);
    expect(problems.join('\n')).toMatch(/\/tools\/0\/name/);
    expect(problems.join('\n')).toMatch(/\/tools\/0\/roles/);
  });

  it('SEC-AUTH-05 refuses an HS secret shorter than 32 bytes', () => {
    expect(problemsOf(minimal(), { SECRET: 'x'.repeat(16) }).join('\n')).toMatch(
      /\/auth\/issuers\/0\/secret: HS secrets must be at least 32 bytes/,
    );
  });

  it('names a missing environment variable', () => {
    expect(problemsOf(minimal(), {}).join('\n')).toMatch(/environment variable SECRET is not set/);
  });

  it('refuses an issuer with HS and RS algorithms mixed, or two key sources', () => {
    const p = problemsOf(`
auth:
  issuers:
    - issuer: urn:test
      algorithms: [HS256, RS256]
      secret: ${SECRET}
      jwksUri: https://idp.example/jwks
`);
    expect(p.join('\n')).toMatch(/exactly one of secret, secretFile, jwksUri, jwksFile/);
    expect(p.join('\n')).toMatch(/only HS algorithms/);
  });

  it('SEC-SES-11 refuses a non-loopback bind without TLS unless explicitly allowed', () => {
    expect(problemsOf(minimal('server:\n  host: 0.0.0.0')).join('\n')).toMatch(
      /\/server\/host: binding 0.0.0.0 without TLS is refused/,
    );
    expect(problemsOf(minimal('server:\n  host: 0.0.0.0\n  dangerouslyAllowInsecureHttp: true'))).toEqual([]);
  });

  it('refuses duplicate YAML keys', () => {
    expect(problemsOf(`${minimal()}\nauth:\n  issuers: []\n`).length).toBeGreaterThan(0);
  });

  it('loads the shipped example configs', () => {
    const dir = path.resolve(import.meta.dirname, '../../examples');
    const demo = readFileSync(path.join(dir, 'demo/portcullis.yaml'), 'utf8').replace(
      'secretFile: .portcullis/dev-secret',
      `secret: ${SECRET}`,
    );
    const c = loadConfigText(demo, { env: {}, baseDir: '/tmp' });
    expect(c.tools.map((t) => t.name)).toContain('deprovision_tenant');
  });
});

describe('the production example', () => {
  it('validates with its secrets taken from the environment', () => {
    const file = path.resolve(import.meta.dirname, '../../examples/production/portcullis.yaml');
    const c = loadConfigText(readFileSync(file, 'utf8'), {
      env: { PORTCULLIS_AUTOMATION_SECRET: SECRET },
      baseDir: path.dirname(file),
    });
    expect(c.server.tls?.minVersion).toBe('TLSv1.3');
    expect(c.auth.issuers.map((i) => i.algorithms)).toEqual([['RS256'], ['HS256']]);
  });
});

describe('every problem at once', () => {
  it('lists a shape error, a weak secret and a broken tool schema together', () => {
    const problems = problemsOf(`
auth:
  issuers:
    - issuer: urn:test
      algorithms: [HS256]
      secret: sixteen-bytes-xx
  colour: blue
tools:
  - name: broken
    description: a tool whose schema does not compile
    input: { type: object, properties: { x: { type: strin } } }
    roles: [user]
    module: { builtin: demo.x }
`);
    const all = problems.join('\n');
    expect(all).toMatch(/\/auth: must NOT have additional properties 'colour'/);
    expect(all).toMatch(/\/auth\/issuers\/0\/secret: HS secrets must be at least 32 bytes/);
    expect(all).toMatch(/\/tools\/0\/input: /);
  });
});

describe('trusted proxies', () => {
  it('lists a malformed address or CIDR as a problem', () => {
    const p = problemsOf(minimal('server:\n  trustedProxies: [10.0.0.0/8, "::1", not-an-ip, 10.0.0.0/40]'));
    expect(p).toEqual([
      '/server/trustedProxies/2: not an IP address or CIDR: not-an-ip',
      '/server/trustedProxies/3: not an IP address or CIDR: 10.0.0.0/40',
    ]);
  });
});
