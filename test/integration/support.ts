/**
 * Small helpers for the integration tests: the official clients wired with a bearer token,
 * hand-built 2026-07-28 requests, and a raw `node:http` request for the cases `fetch` cannot
 * express (a custom `Host`, no `Accept`, repeated headers, a body that is never sent).
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const MODERN = '2026-07-28';
export const PV = 'io.modelcontextprotocol/protocolVersion';
export const CAPS = 'io.modelcontextprotocol/clientCapabilities';
export const CLIENT_INFO = { name: 'portcullis-integration', version: '1.0.0' };

/** The v2 client pinned to 2026-07-28, authenticated with a static bearer token. */
export async function connectModern(mcpUrl: string, token: string): Promise<ModernClient> {
  const client = new ModernClient(CLIENT_INFO, {
    capabilities: {},
    versionNegotiation: { mode: { pin: MODERN } },
  });
  const transport = new ModernTransport(new URL(mcpUrl), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

/** The v1 client over 2025 Streamable HTTP (a session), authenticated with a static bearer token. */
export async function connectStreamable(
  mcpUrl: string,
  token: string,
): Promise<{ client: LegacyClient; transport: LegacyTransport }> {
  const client = new LegacyClient(CLIENT_INFO);
  const transport = new LegacyTransport(new URL(mcpUrl), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return { client, transport };
}

/** The v1 client over the 2024-11-05 HTTP+SSE transport. */
export async function connectSse(sseUrl: string, token: string): Promise<LegacyClient> {
  const client = new LegacyClient(CLIENT_INFO);
  const transport = new SSEClientTransport(new URL(sseUrl), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

/** Params of a 2026-07-28 request: the caller's params plus the required `_meta` envelope. */
export function modernParams(params: Record<string, unknown> = {}, version = MODERN): Record<string, unknown> {
  return { ...params, _meta: { [PV]: version, [CAPS]: {}, 'io.modelcontextprotocol/clientInfo': CLIENT_INFO } };
}

/** Headers of a 2026-07-28 POST whose standard headers mirror the body. */
export function modernHeaders(
  token: string | undefined,
  method: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
    ...(token !== undefined && { authorization: `Bearer ${token}` }),
    ...extra,
  };
}

/** Opens a 2025-11-25 session with a raw `initialize`; returns the response (its body unread). */
export async function initialize2025(mcpUrl: string, token: string): Promise<Response> {
  return fetch(mcpUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: CLIENT_INFO },
    }),
  });
}

/** POSTs one well-formed 2026-07-28 request with fetch. */
export async function postModern(
  mcpUrl: string,
  token: string | undefined,
  method: string,
  params: Record<string, unknown> = {},
  opts: { id?: string | number; headers?: Record<string, string> } = {},
): Promise<Response> {
  const name: Record<string, string> =
    method === 'tools/call' && typeof params.name === 'string' ? { 'mcp-name': params.name } : {};
  return fetch(mcpUrl, {
    method: 'POST',
    headers: modernHeaders(token, method, { ...name, ...opts.headers }),
    body: JSON.stringify({ jsonrpc: '2.0', id: opts.id ?? 1, method, params: modernParams(params) }),
  });
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One request with `node:http`, which sends exactly the headers given (an array value becomes
 * repeated header lines; no default `Accept`). With `declareOnly`, the body is announced in
 * `Content-Length` but never written: the answer must come before the body is read.
 */
export function rawRequest(
  url: string,
  opts: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer; declareOnly?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(url, { method: opts.method ?? 'POST', headers: opts.headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        req.destroy();
      });
      res.on('error', reject);
    });
    // Once the answer has started, a write error (the server closed after refusing the body) is expected.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (opts.declareOnly) {
      req.flushHeaders();
      return;
    }
    req.end(opts.body);
  });
}

/** A syntactically valid session id (32 random bytes, base64url) that the gateway never issued. */
export function randomSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** Splits a `text/event-stream` body into its `data:` payloads (one JSON message each). */
export function sseData(text: string): unknown[] {
  return text
    .split(/\r?\n/)
    .filter((l) => l.startsWith('data:'))
    .map((l) => JSON.parse(l.slice(5).trim()) as unknown);
}

/** The text of the first text content block of a tool result. */
export function firstText(result: { content?: unknown }): string {
  const content = Array.isArray(result.content) ? (result.content as unknown[]) : [];
  const first = content[0] as { type?: unknown; text?: unknown } | undefined;
  return first?.type === 'text' && typeof first.text === 'string' ? first.text : '';
}

export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Reads a `text/event-stream` response event by event. `next()` waits for the next event,
 * failing after `timeoutMs` so that a missing event ends the test instead of hanging it.
 */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = '';

  constructor(res: Response) {
    if (!res.body) throw new Error('response has no body');
    this.#reader = res.body.getReader();
  }

  async next(timeoutMs = 5000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const sep = this.#buffer.search(/\r?\n\r?\n/);
      if (sep !== -1) {
        const block = this.#buffer.slice(0, sep);
        this.#buffer = this.#buffer.slice(sep).replace(/^\r?\n\r?\n/, '');
        const lines = block.split(/\r?\n/);
        if (lines.every((l) => l.startsWith(':') || l === '')) continue; // keep-alive comment
        const event =
          lines
            .find((l) => l.startsWith('event:'))
            ?.slice(6)
            .trim() ?? 'message';
        const data = lines
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n');
        return { event, data };
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for an SSE event');
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        this.#reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out waiting for an SSE event')), left);
        }),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) throw new Error('SSE stream ended');
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
    }
  }

  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => undefined);
  }
}
