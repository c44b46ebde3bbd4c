/**
 * Helpers of the token, legacy-SSE and forward-compat security tests: a gateway with extra
 * issuers (JWKS IdPs next to the demo HS256 issuer), exact checks of the §0 authentication
 * answers (RC-1/2/3/5), raw-socket requests, a JWKS server that misbehaves on demand, and reads
 * of the audit store.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { AuditReader } from '../../../src/audit/reader.js';
import type { AuditEvent } from '../../../src/audit/types.js';
import { DEMO_CONFIG } from '../../helpers/gateway.js';
import type { StartOptions } from '../../helpers/gateway.js';
import { startSecurityGateway } from './session.js';
import type { SecurityGateway } from './session.js';

/** An extra issuer: its `iss` and JWKS URL, pinned algorithms, optional `typ` and tenants. */
export interface IssuerSpec {
  issuer: string;
  jwksUri: string;
  algorithms: readonly string[];
  typ?: string;
  tenants?: readonly string[];
}

export interface AuthGatewayOptions extends Omit<StartOptions, 'configFile'> {
  issuers?: readonly IssuerSpec[];
  /** Extra `auth:` keys, as YAML lines indented by two spaces (e.g. `  strictAudience: true`). */
  auth?: string;
  /** Extra tools, as YAML list items indented by two spaces (added to the top-level `tools:`). */
  tools?: string;
}

const HS_ISSUER_LINE = '      secretFile: .portcullis/dev-secret\n';
const AUTH_ROLES_LINE = '  roles: [user, admin]\n';

/**
 * The security gateway (demo tools plus `sec_*` test tools) whose `auth.issuers` lists the demo
 * HS256 issuer first, then `issuers`; `auth` adds keys under `auth:`.
 */
export async function startAuthGateway(opts: AuthGatewayOptions = {}): Promise<SecurityGateway> {
  const { issuers = [], auth = '', tools = '', ...start } = opts;
  const demo = readFileSync(DEMO_CONFIG, 'utf8');
  if (!demo.includes(HS_ISSUER_LINE) || !demo.includes(AUTH_ROLES_LINE) || !demo.includes('\ntools:\n')) {
    throw new Error('the demo config no longer has the expected auth block');
  }
  const issuerYaml = issuers
    .map(
      (i) =>
        `    - issuer: ${JSON.stringify(i.issuer)}\n` +
        `      algorithms: ${JSON.stringify(i.algorithms)}\n` +
        `      jwksUri: ${JSON.stringify(i.jwksUri)}\n` +
        (i.typ !== undefined ? `      typ: ${JSON.stringify(i.typ)}\n` : '') +
        (i.tenants !== undefined ? `      tenants: ${JSON.stringify(i.tenants)}\n` : ''),
    )
    .join('');
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-auth-'));
  const configFile = path.join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    demo
      .replace(HS_ISSUER_LINE, `${HS_ISSUER_LINE}${issuerYaml}`)
      .replace(AUTH_ROLES_LINE, `${AUTH_ROLES_LINE}${auth ? `${auth.replace(/\n*$/, '')}\n` : ''}`)
      .replace('\ntools:\n', `\ntools:\n${tools ? `${tools.replace(/^\n+|\n+$/g, '')}\n` : ''}`),
  );
  try {
    const gw = await startSecurityGateway({ ...start, configFile });
    return {
      ...gw,
      close: async () => {
        await gw.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The parameters of a `Bearer` challenge (RFC 6750 §3), unescaped. */
export function parseChallenge(header: string | null | undefined): { scheme: string; params: Record<string, string> } {
  const value = header ?? '';
  const space = value.indexOf(' ');
  const scheme = space === -1 ? value : value.slice(0, space);
  const params: Record<string, string> = {};
  for (const m of value.slice(space + 1).matchAll(/([A-Za-z_]+)="((?:[^"\\]|\\.)*)"/g)) {
    params[m[1] ?? ''] = (m[2] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}

/** Status, headers and body of an answer, from `fetch` or `rawRequest`. */
export interface Answer {
  status: number;
  header(name: string): string | undefined;
  body: string;
}

export async function answerOf(res: Response): Promise<Answer> {
  const body = await res.text();
  return { status: res.status, header: (n) => res.headers.get(n) ?? undefined, body };
}

/**
 * Asserts the exact §0 answer to a refused credential: RC-1 (`missing`: 401, no `error=`),
 * RC-2 (`invalid_token`: 401, generic description, `{"error":"invalid_token"}`) or RC-3
 * (`invalid_request`: 400). Every one points at the PRM document and carries no JSON-RPC.
 */
export function expectAuthRefusal(a: Answer, kind: 'missing' | 'invalid_token' | 'invalid_request', prmUrl: string) {
  expect(a.status).toBe(kind === 'invalid_request' ? 400 : 401);
  const { scheme, params } = parseChallenge(a.header('www-authenticate'));
  expect(scheme).toBe('Bearer');
  expect(params.resource_metadata).toBe(prmUrl);
  expect(a.body).not.toContain('jsonrpc');
  const body = JSON.parse(a.body) as Record<string, unknown>;
  if (kind === 'missing') {
    expect(params.error).toBeUndefined();
    expect(params.error_description).toBeUndefined();
    expect(typeof body.error).toBe('string');
  } else {
    expect(params.error).toBe(kind);
    // Generic: the same text whatever was wrong, with no claim names or values in it.
    expect(params.error_description).toMatch(
      /^The (access token is missing, invalid or expired|request carries malformed credentials)$/,
    );
    expect(params.scope).toBeUndefined();
    expect(body).toEqual({ error: kind });
  }
}

/** RC-5: keys could not be obtained, so the gateway cannot decide: 503 with `Retry-After`, never 2xx. */
export function expectUnavailable(a: Answer): void {
  expect(a.status).toBe(503);
  expect(Number(a.header('retry-after'))).toBeGreaterThan(0);
  expect(a.body).not.toContain('jsonrpc');
}

/** A compact JWS with an HMAC-SHA256 signature, built by hand so no library can refuse the input. */
export function hmacJws(header: unknown, payload: string, secret: string | Buffer): string {
  const h = Buffer.from(JSON.stringify(header)).toString('base64url');
  const p = Buffer.from(payload).toString('base64url');
  return `${h}.${p}.${createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
}

/** One raw HTTP/1.1 exchange over `node:net`: the bytes are sent exactly as given. */
export function rawExchange(port: number, request: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('raw exchange timed out'));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // One response is enough: stop once its declared body has arrived.
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      if (end !== -1 && len && Buffer.byteLength(text.slice(end + 4), 'latin1') >= Number(len[1])) socket.end();
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (chunks.length > 0) resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.write(request);
  });
}

/** Parses the first response of a raw exchange. */
export function parseRaw(text: string): Answer {
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Map<string, string>();
  for (const l of lines) {
    const c = l.indexOf(':');
    if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
  }
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0),
    header: (n) => headers.get(n.toLowerCase()),
    body: end === -1 ? '' : text.slice(end + 4),
  };
}

/** A JWKS endpoint that fails in a chosen way, counting hits. */
export interface BadJwks {
  issuer: string;
  jwksUri: string;
  hits(): number;
  /** `status500`, `html`, `redirect` (to `target`), `hang` (never answers). */
  mode(m: 'status500' | 'html' | 'redirect' | 'hang', target?: string): void;
  close(): Promise<void>;
}

export async function startBadJwks(): Promise<BadJwks> {
  let hits = 0;
  let current: { m: string; target?: string } = { m: 'status500' };
  const server: Server = createServer((req, res) => {
    hits++;
    switch (current.m) {
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Login</body></html>');
        return;
      case 'redirect':
        res.writeHead(302, { location: current.target ?? '/' }).end();
        return;
      case 'hang':
        return; // the socket stays open; closeAllConnections ends it
      default:
        res.writeHead(500, { 'content-type': 'application/json' }).end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    jwksUri: `${issuer}/jwks.json`,
    hits: () => hits,
    mode: (m, target) => {
      current = target === undefined ? { m } : { m, target };
    },
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/**
 * A loopback HTTP server that counts requests: the host a hostile header points at. It answers
 * `body` as JSON (e.g. the attacker's JWKS), or 404 without one.
 */
export async function startRecorder(body?: string): Promise<{ url: string; hits(): number; close(): Promise<void> }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    if (body) res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, hits: () => hits, close: () => new Promise((r) => server.close(() => r())) };
}

/** Every stored audit event of the gateway (all instances), oldest first. */
export function auditEvents(gw: { dir: string }): AuditEvent[] {
  const reader = AuditReader.open(path.join(gw.dir, 'audit.sqlite'));
  try {
    return reader.query({ order: 'asc' }).map((s) => s.event);
  } finally {
    reader.close();
  }
}

/** The raw bytes of the audit database and its WAL, as latin1 text (to search for leaked secrets). */
export function auditBytes(gw: { dir: string }): string {
  const file = path.join(gw.dir, 'audit.sqlite');
  let text = '';
  for (const f of [file, `${file}-wal`]) {
    try {
      text += readFileSync(f).toString('latin1');
    } catch {
      // No WAL file at this moment.
    }
  }
  return text;
}
