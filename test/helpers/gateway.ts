/**
 * Test harness: a real gateway on an ephemeral loopback port, configured like the embedded demo
 * (HS256 issuer, demo tools, SQLite demo database in a temp dir), and a token minter.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { loadConfigFile } from '../../src/config/load.js';
import { createGateway } from '../../src/gateway.js';
import type { Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observability/log.js';
import type { Logger } from '../../src/observability/log.js';

export const DEMO_CONFIG = path.resolve(import.meta.dirname, '../../examples/demo/portcullis.yaml');
export const ISSUER = 'urn:portcullis:dev';
export const SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

export const PRINCIPALS = {
  alice: { sub: 'alice', org: 'acme', roles: ['user'] },
  carol: { sub: 'carol', org: 'acme', roles: ['admin'] },
  bob: { sub: 'bob', org: 'globex', roles: ['user'] },
  dave: { sub: 'dave', org: 'globex', roles: ['admin'] },
} as const;

export type PrincipalName = keyof typeof PRINCIPALS;

export interface TestGateway {
  gateway: Gateway;
  /** The temp directory holding the config, secret, demo database and audit database. */
  dir: string;
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** The MCP endpoint, `${url}/mcp` (also the token audience). */
  mcpUrl: string;
  port: number;
  /** A valid token for a demo principal. */
  token(name: PrincipalName, claims?: Record<string, unknown>): Promise<string>;
  /** A token with arbitrary claims/header, signed with the demo secret unless `secret` is given. */
  sign(
    claims: Record<string, unknown>,
    opts?: { secret?: string; alg?: string; header?: Record<string, unknown> },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface StartOptions {
  /** Extra environment / overrides: config YAML text replacing the demo config. */
  configFile?: string;
  fixtures?: boolean;
  env?: Record<string, string>;
  sessions?: Record<string, number>;
  /** Extra top-level YAML appended to the config (e.g. a `limits:` block). */
  extraYaml?: string;
  now?: () => number;
  /** The gateway's logger (default: silent). */
  logger?: Logger;
}

export async function startGateway(opts: StartOptions = {}): Promise<TestGateway> {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-test-'));
  const port = await freePort();
  const { writeFileSync, readFileSync } = await import('node:fs');
  writeFileSync(path.join(dir, 'secret'), SECRET, { mode: 0o600 });
  let text = readFileSync(opts.configFile ?? DEMO_CONFIG, 'utf8')
    .replace('secretFile: .portcullis/dev-secret', `secretFile: ${path.join(dir, 'secret')}`)
    .replace(
      'database: .portcullis/demo.sqlite',
      `database: ${path.join(dir, 'demo.sqlite')}${opts.fixtures ? '\n  fixtures: true' : ''}`,
    )
    .replace(/^dataDir: .*$/m, `dataDir: ${dir}`);
  if (opts.sessions) {
    text += `\nsessions:\n${Object.entries(opts.sessions)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n')}\n`;
  }
  if (opts.extraYaml) text += `\n${opts.extraYaml}\n`;
  const cfgPath = path.join(dir, 'portcullis.yaml');
  writeFileSync(cfgPath, text);
  const config = loadConfigFile(cfgPath, { port, env: opts.env ?? {} });
  const gateway = await createGateway(config, {
    logger: opts.logger ?? createLogger('silent'),
    ...(opts.now && { now: opts.now }),
  });
  const { url } = await gateway.listen();
  const mcpUrl = `${url}/mcp`;
  const sign: TestGateway['sign'] = async (claims, o = {}) => {
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: o.alg ?? 'HS256', ...o.header });
    return jwt.sign(new TextEncoder().encode(o.secret ?? SECRET));
  };
  return {
    gateway,
    dir,
    url,
    mcpUrl,
    port,
    sign,
    token: async (name, claims = {}) => {
      const p = PRINCIPALS[name];
      const now = Math.floor(Date.now() / 1000);
      return sign({
        iss: ISSUER,
        aud: mcpUrl,
        sub: p.sub,
        org_id: p.org,
        roles: p.roles,
        iat: now,
        exp: now + 900,
        ...claims,
      });
    },
    close: async () => {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
