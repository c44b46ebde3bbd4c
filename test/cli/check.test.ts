/** `portcullis check`: the demo's tool × role matrix, and broken configs listing every problem. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

const SECRET = 'check-test-secret-0123456789abcdef0123456789';

/** A small valid config; `patch` edits its text to break it. */
function writeConfig(name: string, patch: (yaml: string) => string = (y) => y): string {
  const yaml = `auth:
  issuers:
    - issuer: urn:test
      algorithms: [HS256]
      secret: ${SECRET}
  roles: [user, admin]
demo:
  database: ./demo.sqlite
tools:
  - name: get_user_profile
    description: Profile.
    input: { type: object, required: [userId], properties: { userId: { type: string } } }
    roles: [user, admin]
    readOnly: true
    module: { builtin: demo.get_user_profile }
`;
  const file = path.join(dir, name);
  writeFileSync(file, patch(yaml));
  return file;
}

/** Matrix rows by tool name: the cells under each column heading. */
function matrix(stdout: string): Map<string, Record<string, string>> {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith('tool '));
  const header = lines[start]!.trim().split(/\s+/);
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const cells = line.trim().split(/\s+/);
    rows.set(cells[0]!, Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ''])));
  }
  return rows;
}

describe('portcullis check', () => {
  it('accepts the embedded demo and prints who may use which tool', async () => {
    const r = await runCli(['check'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^config OK: 10 tools, 1 issuer\b/);
    const m = matrix(r.stdout);
    expect(m.get('get_user_profile')).toMatchObject({ user: '✓', admin: '✓', flags: 'r' });
    expect(m.get('deprovision_tenant')).toMatchObject({ user: '·', admin: '✓', flags: '!' });
    expect(r.stdout).toMatch(/deprovision_tenant\s+·\s+✓\s+! t\n/);
    expect(m.get('list_projects')).toMatchObject({ user: '✓', admin: '✓', flags: 'r' });
    expect(m.get('archive_project')).toMatchObject({ user: '·', admin: '✓', flags: '!' });
    expect(m.size).toBe(10);
  });

  it('writes nothing: no audit or demo database, no upstream-signing key', async () => {
    const { mkdtempSync, readdirSync } = await import('node:fs');
    const data = mkdtempSync(path.join(dir, 'data-'));
    const file = writeConfig('no-writes.yaml', (y) =>
      y
        .replace('demo:\n  database: ./demo.sqlite', `dataDir: ${data}\ndemo:\n  database: ${data}/demo.sqlite`)
        .concat(
          '  - name: get_order\n    description: An order.\n    input: { type: object, properties: {} }\n' +
            '    roles: [user]\n    http: { upstream: shop, method: GET, path: /orders }\n' +
            'upstreams:\n  shop: { baseUrl: "https://shop.example.com/v1", auth: { gatewayJwt: {} } }\n',
        ),
    );
    const r = await runCli(['check', '--config', file], dir);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^config OK: 2 tools, 1 issuer/);
    expect(readdirSync(data)).toEqual([]);
  });

  it('accepts a config file and counts its tools and issuers', async () => {
    const r = await runCli(['check', '--config', writeConfig('ok.yaml')], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^config OK: 1 tool, 1 issuer/);
  });

  it('lists unknown keys, each with its path, and exits 2', async () => {
    const file = writeConfig(
      'unknown-key.yaml',
      (y) => `${y.replace('readOnly: true', 'readOnly: true\n    colour: red')}bogus: 1\n`,
    );
    const r = await runCli(['check', '--config', file], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^portcullis: .*unknown-key\.yaml: config has 2 problem\(s\)\n/);
    expect(r.stderr).toContain("  - /: must NOT have additional properties 'bogus'");
    expect(r.stderr).toContain("  - /tools/0: must NOT have additional properties 'colour'");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('refuses a 16-byte HS secret, naming the issuer path', async () => {
    const file = writeConfig('short-secret.yaml', (y) => y.replace(SECRET, '0123456789abcdef'));
    const r = await runCli(['check', '--config', file], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('  - /auth/issuers/0/secret: HS secrets must be at least 32 bytes');
  });

  it('lists every tool problem (bad schema, tenantArg not in the schema) with its path', async () => {
    const file = writeConfig('bad-tool.yaml', (y) =>
      y
        .replace('{ userId: { type: string } }', '{ userId: { type: strin } }')
        .replace('readOnly: true', 'readOnly: true\n    tenantArg: orgId'),
    );
    const r = await runCli(['check', '--config', file], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^portcullis: .*bad-tool\.yaml: 2 tool problem\(s\)\n/);
    expect(r.stderr).toMatch(/\n {2}- \/tools\/0 \(get_user_profile\)\/input: schema is invalid: .*userId\/type/);
    expect(r.stderr).toContain(
      "  - /tools/0 (get_user_profile)/tenantArg: 'orgId' is not a property of the input schema",
    );
  });

  it('reports a missing config file with exit 2', async () => {
    const r = await runCli(['check', '--config', 'missing.yaml'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^portcullis: cannot read config file .*missing\.yaml/);
  });
});
