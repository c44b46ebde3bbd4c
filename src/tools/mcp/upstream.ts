/**
 * The `mcp` tool backend (federation, SEC-UP-06/07): tools of an upstream MCP server (Streamable
 * HTTP), each exposed only if the gateway's config lists it, with the gateway's own definition
 * (schema, roles, risk class) — the upstream's description, schema and annotations are never
 * shown to clients nor used for policy (SEC-AZ-08, Z-18, V-27: its schema is hashed, not compiled).
 *
 * One SDK v1 `Client` per upstream, created at the first call and connected through the
 * upstream's egress Agent (address checks, no redirects, size cap) with the gateway's credential
 * — never the client's token (SEC-UP-01). Credentials are added per HTTP request by the fetch
 * below: a call's requests carry that caller's identity (AsyncLocalStorage, so concurrent calls
 * of different principals never swap), the gateway's own requests (initialize, tools/list, the
 * GET stream) carry the gateway's service identity.
 *
 * Pinning (Z-17, U-19): each configured tool's upstream definition is hashed (SHA-256 of the
 * canonical JSON of name, description and inputSchema); the approved hash is the config `pin` or,
 * without one, the first one seen. On `notifications/tools/list_changed` the gateway re-lists; a
 * tool whose hash differs (or that vanished) answers "unavailable" until an operator updates the
 * pin. Tools the upstream adds are never exposed: the catalog is the config.
 *
 * Isolation (SEC-UP-07, U-18, Z-21): the upstream client declares no capabilities and has no
 * request handlers, so sampling, elicitation and roots requests are refused (method not found);
 * upstream notifications other than list_changed are dropped, never forwarded to any session.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  ListToolsResultSchema,
  McpError,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { fetch as undiciFetch } from 'undici';
import type { Principal } from '../../auth/principal.js';
import type { ToolConfig, UpstreamConfig } from '../../config/types.js';
import { VERSION } from '../../version.js';
import { identityHeaders } from '../http/credentials.js';
import type { CallIdentity } from '../http/credentials.js';
import { EgressRefused } from '../http/egress.js';
import { failure } from '../http/result.js';
import type { Egress, UpstreamRuntime } from '../http/runtime.js';
import { FAILURE_REASON } from '../types.js';
import type { ContentBlock, ToolContext, ToolHandler, ToolResult } from '../types.js';

const UNAVAILABLE = 'The tool is unavailable; try again later';
const FAILED = 'The upstream request failed';
const TIMED_OUT = 'The upstream request timed out';
const MAX_LIST_PAGES = 50;
/**
 * Definitions older than this are listed again before the next call is checked: a safety net
 * for a `list_changed` the gateway missed (the notification stream dropped, an upstream that
 * never sends it), so a changed definition is caught within this time at the latest.
 */
const RELIST_AFTER_MS = 60_000;

/** Who the gateway's own upstream requests (session setup, listing) are made as. */
const GATEWAY_PRINCIPAL: Principal = {
  issuer: 'portcullis',
  user: 'portcullis-gateway',
  tenant: '',
  roles: [],
  scopes: new Set(),
  expiresAt: 0,
  key: 'portcullis-gateway',
};

/** The definition hash an operator puts in `mcp.pin`. */
export function definitionHash(t: { name: string; description?: unknown; inputSchema?: unknown }): string {
  const canonical = canonicalJson({ name: t.name, description: t.description ?? '', inputSchema: t.inputSchema ?? {} });
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

const currentCall = new AsyncLocalStorage<CallIdentity>();

/** One upstream MCP server: its client (lazily connected) and the pinned definitions. */
class McpUpstream {
  readonly #runtime: UpstreamRuntime;
  readonly #egress: Egress;
  #client: Promise<Client> | undefined;
  #listing: Promise<void> | undefined;
  /** Upstream tool name → hash of its current definition (absent: not listed). */
  #current = new Map<string, string>();
  #listedAt = 0;
  /** Upstream tool name → the first hash seen (the approval of tools without a config pin). */
  readonly #approved = new Map<string, string>();
  #closed = false;

  constructor(runtime: UpstreamRuntime, egress: Egress) {
    this.#runtime = runtime;
    this.#egress = egress;
  }

  get config(): UpstreamConfig {
    return this.#runtime.config;
  }

  /** Connects and lists (once); a failed attempt is retried by the next call. */
  ready(): Promise<Client> {
    if (this.#closed) return Promise.reject(new Error('upstream closed'));
    // Outside any call: session setup, listing and the GET stream are the gateway's own requests.
    this.#client ??= currentCall
      .exit(() => this.#connect())
      .catch((err: unknown) => {
        this.#client = undefined;
        throw err;
      });
    return this.#client;
  }

  /** Whether this upstream tool's current definition is the approved one (`pin`, or the first seen). */
  async check(tool: string, pin: string | undefined): Promise<'ok' | 'missing' | 'changed'> {
    if (Date.now() - this.#listedAt > RELIST_AFTER_MS && this.#client) this.#relist(this.#client);
    await this.#listing;
    const hash = this.#current.get(tool);
    if (hash === undefined) return 'missing';
    if (!this.#approved.has(tool)) this.#approved.set(tool, hash);
    return (pin ?? this.#approved.get(tool)) === hash ? 'ok' : 'changed';
  }

  /** The upstream's circuit breaker (tools/http/breaker.ts), shared with nothing else. */
  get breaker(): UpstreamRuntime['breaker'] {
    return this.#runtime.breaker;
  }

  currentHash(tool: string): string | undefined {
    return this.#current.get(tool);
  }

  /** Drops the connection; the next call reconnects (e.g. the upstream lost the session). */
  reset(): void {
    const c = this.#client;
    this.#client = undefined;
    void c?.then((client) => client.close()).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const c = this.#client;
    this.#client = undefined;
    await c?.then((client) => client.close()).catch(() => undefined);
  }

  async #connect(): Promise<Client> {
    const u = this.#runtime.config;
    const client = new Client({ name: 'portcullis', version: VERSION }, { capabilities: {} });
    const transport = new StreamableHTTPClientTransport(new URL(u.baseUrl), {
      fetch: this.#fetch,
      reconnectionOptions: {
        maxReconnectionDelay: 30_000,
        initialReconnectionDelay: 1000,
        reconnectionDelayGrowFactor: 2,
        maxRetries: 2,
      },
    });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.#relist(Promise.resolve(client)));
    client.onerror = () => undefined;
    await client.connect(transport, { timeout: u.timeoutMs });
    try {
      this.#listing = this.#list(client);
      await this.#listing;
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
    return client;
  }

  /** Lists again, outside any call; until it succeeds no tool of this upstream is available. */
  #relist(client: Promise<Client>): void {
    this.#listedAt = Date.now(); // one re-listing at a time
    this.#listing = currentCall
      .exit(async () => this.#list(await client))
      .catch((err: unknown) => {
        // Unknown definitions: every tool of this upstream is unavailable until a listing succeeds.
        this.#current = new Map();
        this.#listedAt = 0;
        this.#report('-', 'upstream_list_failed', err);
      });
  }

  async #list(client: Client): Promise<void> {
    this.#listedAt = Date.now();
    const next = new Map<string, string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const res = await client.request(
        { method: 'tools/list', params: cursor !== undefined ? { cursor } : {} },
        ListToolsResultSchema,
        { timeout: this.#runtime.config.timeoutMs },
      );
      for (const t of res.tools) if (!next.has(t.name)) next.set(t.name, definitionHash(t));
      cursor = res.nextCursor;
      if (cursor === undefined) break;
    }
    this.#current = next;
  }

  #report(tool: string, reason: string, err?: unknown): void {
    const requestId = currentCall.getStore()?.requestId ?? '-';
    this.#egress.onFailure({ upstream: this.config.name, tool, requestId, reason, ...(err !== undefined && { err }) });
  }

  /** Every upstream HTTP request: the egress Agent, no redirects, the gateway's credential. */
  readonly #fetch = async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const u = this.#runtime.config;
    const call = currentCall.getStore() ?? {
      principal: GATEWAY_PRINCIPAL,
      requestId: 'portcullis-gateway',
      signal: AbortSignal.timeout(u.timeoutMs),
    };
    const headers = new Headers(init?.headers);
    headers.delete('authorization');
    for (const [k, v] of Object.entries(u.headers)) headers.set(k, v);
    headers.set('user-agent', `portcullis/${VERSION}`);
    headers.set('accept-encoding', 'identity');
    if (u.identityHeaders) for (const [k, v] of Object.entries(identityHeaders(call))) headers.set(k, v);
    for (const [k, v] of Object.entries(await this.#runtime.credentials(call))) headers.set(k, v);
    const res = await undiciFetch(url, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      headers: Object.fromEntries(headers),
      redirect: 'manual',
      dispatcher: this.#runtime.agent,
    });
    return res;
  };

  /** Calls the upstream tool as this caller. */
  call(tool: string, args: Record<string, unknown>, ctx: ToolContext, timeoutMs: number): Promise<unknown> {
    const identity: CallIdentity = { principal: ctx.principal, requestId: ctx.requestId, signal: ctx.signal };
    return currentCall.run(identity, async () => {
      const client = await this.ready();
      return client.request({ method: 'tools/call', params: { name: tool, arguments: args } }, CallToolResultSchema, {
        signal: ctx.signal,
        timeout: timeoutMs,
      });
    });
  }
}

const registries = new WeakMap<Egress, Map<string, McpUpstream>>();

function upstreamOf(egress: Egress, name: string): McpUpstream | undefined {
  let reg = registries.get(egress);
  if (!reg) registries.set(egress, (reg = new Map<string, McpUpstream>()));
  let up = reg.get(name);
  if (!up) {
    const runtime = egress.upstream(name);
    if (!runtime) return undefined;
    up = new McpUpstream(runtime, egress);
    reg.set(name, up);
  }
  return up;
}

/** Closes the upstream MCP clients created on this egress (before the egress itself). */
export async function closeMcpUpstreams(egress: Egress): Promise<void> {
  const reg = registries.get(egress);
  registries.delete(egress);
  await Promise.all([...(reg?.values() ?? [])].map((u) => u.close()));
}

/** Builds the handler of one `mcp` tool, or undefined when its upstream has no egress. */
export function createMcpHandler(tool: ToolConfig, egress: Egress): ToolHandler | undefined {
  const b = tool.backend;
  if (b.kind !== 'mcp') throw new TypeError(`${tool.name} is not an mcp tool`);
  const up = upstreamOf(egress, b.upstream);
  if (!up) return undefined;
  const timeoutMs = Math.min(up.config.timeoutMs, tool.timeoutMs);
  const maxBytes = up.config.maxResponseBytes;

  return async (args: Record<string, unknown>, ctx: ToolContext): Promise<ToolResult> => {
    const { requestId } = ctx;
    const fail = (text: string, reason: string, err?: unknown): ToolResult => {
      egress.onFailure({ upstream: b.upstream, tool: tool.name, requestId, reason, ...(err !== undefined && { err }) });
      return failure(text, reason, requestId);
    };
    // The validated, tenant-bound arguments, re-serialised; `confirm` is the gateway's own.
    const { confirm: _confirm, ...sent } = args;
    // D-14: an upstream that keeps failing is not called again until its cooldown is over.
    if (!up.breaker.allow()) return fail(UNAVAILABLE, 'upstream_circuit_open');
    let raw: unknown;
    try {
      await up.ready();
      const state = await up.check(b.tool, b.pin);
      if (state !== 'ok') {
        up.breaker.record(false);
        const detail = new Error(`upstream definition ${up.currentHash(b.tool) ?? 'absent'}`);
        return fail(UNAVAILABLE, state === 'missing' ? 'upstream_tool_missing' : 'upstream_definition_changed', detail);
      }
      raw = await up.call(b.tool, sent, ctx, timeoutMs);
    } catch (err) {
      if (ctx.signal.aborted) {
        up.breaker.record(undefined);
        return failure(TIMED_OUT, 'cancelled', requestId);
      }
      const timedOut = err instanceof McpError && err.code === -32001;
      if (!(err instanceof McpError)) up.reset();
      // A refused destination is the gateway's decision, not the upstream's fault.
      const refused = egressRefusal(err);
      up.breaker.record(refused === undefined);
      if (refused) return fail(FAILED, refused, err);
      return fail(timedOut ? TIMED_OUT : FAILED, timedOut ? 'upstream_timeout' : 'upstream_error', err);
    }
    up.breaker.record(false);
    const result = checkResult(raw);
    if (!result) return fail(FAILED, 'upstream_malformed_result');
    if (JSON.stringify(result).length > maxBytes) return fail(FAILED, 'upstream_too_large');
    return result;
  };
}

/** The egress refusal behind an error (the SDK and fetch wrap it in `cause`s), if any. */
function egressRefusal(err: unknown): EgressRefused['reason'] | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e instanceof Error; depth++, e = e.cause) {
    if (e instanceof EgressRefused) return e.reason;
  }
  return undefined;
}

/**
 * A clean copy of an upstream `CallToolResult` (its `_meta` and unknown fields dropped), or
 * undefined if it is not one: a content array of known block types, an object `structuredContent`.
 * An upstream `isError` result keeps its text blocks: the upstream is the operator's own service.
 */
function checkResult(raw: unknown): ToolResult | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (!Array.isArray(r.content)) return undefined;
  const content: ContentBlock[] = [];
  for (const b of r.content as unknown[]) {
    const block = contentBlock(b);
    if (!block) return undefined;
    content.push(block);
  }
  const sc = r.structuredContent;
  if (sc !== undefined && (sc === null || typeof sc !== 'object' || Array.isArray(sc))) return undefined;
  if (r.isError === true) {
    const result: ToolResult = { content: content.filter((c) => c.type === 'text'), isError: true };
    Object.defineProperty(result, FAILURE_REASON, { value: 'upstream_tool_error', enumerable: false });
    return result;
  }
  return { content, ...(sc !== undefined && { structuredContent: sc as Record<string, unknown> }) };
}

function contentBlock(b: unknown): ContentBlock | undefined {
  if (b === null || typeof b !== 'object') return undefined;
  const o = b as Record<string, unknown>;
  const str = (k: string): boolean => typeof o[k] === 'string';
  switch (o.type) {
    case 'text':
      return str('text') ? { type: 'text', text: o.text as string } : undefined;
    case 'image':
    case 'audio':
      return str('data') && str('mimeType')
        ? { type: o.type, data: o.data as string, mimeType: o.mimeType as string }
        : undefined;
    case 'resource_link':
      return str('uri') && str('name')
        ? {
            type: 'resource_link',
            uri: o.uri as string,
            name: o.name as string,
            ...(str('mimeType') && { mimeType: o.mimeType as string }),
            ...(str('description') && { description: o.description as string }),
          }
        : undefined;
    default:
      return undefined;
  }
}
