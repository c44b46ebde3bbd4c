/** `portcullis token` and the demo's dev secret, driven through the real CLI. */
import { chmodSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

const secretFile = path.join(dir, '.portcullis', 'dev-secret');
const devKey = (): Uint8Array => new TextEncoder().encode(readFileSync(secretFile, 'utf8').trim());

describe('portcullis token (embedded demo)', () => {
  it('prints exactly one JWT line that verifies with the dev secret and carries the demo claims', async () => {
    const r = await runCli(['token', '--sub', 'alice', '--org', 'acme', '--roles', 'user'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const { payload, protectedHeader } = await jwtVerify(r.stdout.trim(), devKey(), {
      issuer: 'urn:portcullis:dev',
      audience: 'http://127.0.0.1:3000/mcp',
      algorithms: ['HS256'],
    });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: 'alice', org_id: 'acme', roles: ['user'] });
    expect(payload.scope).toBeUndefined();
    expect(payload.exp! - payload.iat!).toBe(15 * 60);
    expect(payload.jti).toMatch(/^[\w-]{16,}$/);
  });

  it('creates the dev secret with mode 0600 in a 0700 directory and keeps it across runs', async () => {
    const before = readFileSync(secretFile, 'utf8');
    expect(before.trim()).toMatch(/^[\w-]{43}$/); // 32 random bytes, base64url
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(secretFile)).mode & 0o777).toBe(0o700);
    const r = await runCli(['token', '--sub', 'carol', '--org', 'acme', '--roles', 'admin'], dir);
    expect(r.code).toBe(0);
    expect(readFileSync(secretFile, 'utf8')).toBe(before);
  });

  it('honours --scopes, --ttl and PORT (the audience follows the public URL)', async () => {
    const r = await runCli(
      ['token', '--sub', 'bob', '--org', 'globex', '--roles', 'user,admin', '--scopes', 'read write', '--ttl', '90s'],
      dir,
      { PORT: '4567' },
    );
    expect(r.code).toBe(0);
    const { payload } = await jwtVerify(r.stdout.trim(), devKey(), { audience: 'http://127.0.0.1:4567/mcp' });
    expect(payload).toMatchObject({ sub: 'bob', org_id: 'globex', roles: ['user', 'admin'], scope: 'read write' });
    expect(payload.exp! - payload.iat!).toBe(90);
  });

  it('narrows a dev secret readable by others to 0600, with a warning', async () => {
    chmodSync(secretFile, 0o644);
    const r = await runCli(['token', '--sub', 'alice', '--org', 'acme', '--roles', 'user'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*dev-secret .*0644.*0600/);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
  });

  it.each([
    [['--org', 'acme', '--roles', 'user'], /--sub is required/],
    [['--sub', 'alice', '--org', 'acme', '--roles', 'root'], /unknown role\(s\) root/],
    [['--sub', 'alice', '--org', 'acme', '--roles', 'user', '--ttl', '2d'], /--ttl: must be .* at most 86400/],
    [['--sub', 'alice', '--org', 'acme', '--roles', 'user', '--ttl', '0'], /--ttl: must be more than 0/],
    [['--sub', 'al ice', '--org', 'acme', '--roles', 'user'], /--sub: .* not a valid id/],
  ])('refuses %j with exit 2 and prints no token', async (args, message) => {
    const r = await runCli(['token', ...args], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});
