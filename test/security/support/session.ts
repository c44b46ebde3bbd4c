/**
 * Helpers of the session, authorization and output security tests: raw requests on a 2025
 * Streamable HTTP session, and a gateway whose config adds in-process test tools (a real ESM
 * module loaded through `module: {file}`) that record what they receive.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEMO_CONFIG, startGateway } from '../../helpers/gateway.js';
import type { StartOptions, TestGateway } from '../../helpers/gateway.js';
import { CLIENT_INFO } from '../../integration/support.js';

export const SESSION_VERSION = '2025-11-25';

/** Headers of a POST on an existing 2025 session (no token / no session id when `undefined`). */
export function sessionHeaders(
  token: string | undefined,
  sessionId: string | undefined,
  version = SESSION_VERSION,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': version,
    ...(token !== undefined && { authorization: `Bearer ${token}` }),
    ...(sessionId !== undefined && { 'mcp-session-id': sessionId }),
  };
}

/** One JSON-RPC request on a 2025 session, as raw fetch. */
export function rpcOn(
  mcpUrl: string,
  token: string | undefined,
  sessionId: string | undefined,
  method: string,
  params: Record<string, unknown> = {},
  id = 7,
): Promise<Response> {
  return fetch(mcpUrl, {
    method: 'POST',
    headers: sessionHeaders(token, sessionId),
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  });
}

/** A raw `initialize` (the body unread), asking for `version`. */
export function initializeRaw(
  mcpUrl: string,
  token: string,
  opts: { version?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(mcpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      ...opts.headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: opts.version ?? SESSION_VERSION, capabilities: {}, clientInfo: CLIENT_INFO },
    }),
  });
}

/** Opens a session (initialize + notifications/initialized) and returns its id. */
export async function openSession(mcpUrl: string, token: string, version = SESSION_VERSION): Promise<string> {
  const res = await initializeRaw(mcpUrl, token, { version });
  await res.text();
  const id = res.headers.get('mcp-session-id');
  if (res.status !== 200 || id === null) throw new Error(`initialize failed: ${res.status}`);
  const ack = await fetch(mcpUrl, {
    method: 'POST',
    headers: sessionHeaders(token, id, version),
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await ack.text();
  if (ack.status !== 202) throw new Error(`notifications/initialized failed: ${ack.status}`);
  return id;
}

export function deleteSession(mcpUrl: string, token: string | undefined, sessionId: string): Promise<Response> {
  return fetch(mcpUrl, { method: 'DELETE', headers: sessionHeaders(token, sessionId) });
}

/** What a recording test tool saw: its arguments and the principal it ran for. */
export interface SeenCall {
  tool: string;
  args: Record<string, unknown>;
  user: string;
  tenant: string;
}

const SEEN_KEY = '__portcullisSecuritySeen';

/** Every call the test tools have received in this process (they run in-process). */
export function seenCalls(): SeenCall[] {
  const g = globalThis as Record<string, unknown>;
  g[SEEN_KEY] ??= [];
  return g[SEEN_KEY] as SeenCall[];
}

/** The test tools' module: plain ESM, loaded by the gateway like any `module: {file}` backend. */
const MODULE = `
const seen = (globalThis.${SEEN_KEY} ??= []);
const remember = (tool, args, ctx) => seen.push({ tool, args, user: ctx.principal.user, tenant: ctx.principal.tenant });
export function record(args, ctx) {
  remember('sec_record', args, ctx);
  return { content: [{ type: 'text', text: 'recorded' }] };
}
export function html(args, ctx) {
  remember('sec_html', args, ctx);
  ctx.progress(1, 2, 'half way');
  return { content: [{ type: 'text', text: '<script>alert(document.cookie)</script>' }] };
}
export function fail(args, ctx) {
  remember('sec_fail', args, ctx);
  throw new Error('cannot handle ' + String(args.note));
}
`;

/** The test tools, as YAML list items under `tools:` (MODULE_PATH is replaced by the module's path). */
const TOOLS_YAML = `
  - name: sec_record
    description: Records the arguments it receives (security tests).
    input:
      type: object
      required: [tenantId]
      properties:
        tenantId: { type: string, maxLength: 64 }
        note: { type: string, maxLength: 4096 }
        password: { type: string, maxLength: 256 }
        filter: { type: object, properties: { status: { type: string, maxLength: 16 } } }
        items:
          type: array
          maxItems: 8
          items: { type: object, properties: { name: { type: string, maxLength: 64 } } }
    roles: [user, admin]
    tenantArg: tenantId
    module: { file: MODULE_PATH, export: record }
  - name: sec_html
    description: Returns markup as text, after a progress notification (security tests).
    input: { type: object, properties: {} }
    roles: [user, admin]
    readOnly: true
    module: { file: MODULE_PATH, export: html }
  - name: sec_fail
    description: Throws an error quoting its argument (security tests).
    input: { type: object, properties: { note: { type: string, maxLength: 4096 } } }
    roles: [user, admin]
    module: { file: MODULE_PATH, export: fail }
  - name: sec_files
    description: Needs the scopes files:read and files:write (security tests).
    input: { type: object, properties: { text: { type: string, maxLength: 64 } } }
    roles: [user, admin]
    scopes: ['files:read', 'files:write']
    readOnly: true
    module: { builtin: demo.echo }
`;

export interface SecurityGateway extends TestGateway {
  /** The directory holding the test tools' module (removed on close). */
  moduleDir: string;
}

/**
 * The demo gateway plus the test tools `sec_record` (tenant-bound, records its arguments),
 * `sec_html` (returns `<script>` text), `sec_fail` (throws, quoting its argument) and
 * `sec_files` (needs two scopes).
 */
export async function startSecurityGateway(opts: StartOptions = {}): Promise<SecurityGateway> {
  const moduleDir = mkdtempSync(path.join(tmpdir(), 'portcullis-sec-'));
  const modulePath = path.join(moduleDir, 'tools.mjs');
  writeFileSync(modulePath, MODULE);
  const demo = readFileSync(opts.configFile ?? DEMO_CONFIG, 'utf8');
  if (!demo.includes('\ntools:\n')) throw new Error('the base config has no top-level tools list');
  const configFile = path.join(moduleDir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    demo.replace('\ntools:\n', `\ntools:${TOOLS_YAML.replaceAll('MODULE_PATH', JSON.stringify(modulePath))}`),
  );
  const gw = await startGateway({ ...opts, configFile });
  return {
    ...gw,
    moduleDir,
    close: async () => {
      await gw.close();
      rmSync(moduleDir, { recursive: true, force: true });
    },
  };
}
