/**
 * A recording REST upstream on loopback: every request is kept as it arrived (method, raw URL,
 * path, query, headers, body), and a route can be told to answer slowly, redirect, stream a huge
 * body, fail, or never answer. By default it echoes what it received as JSON.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startGateway } from './gateway.js';
import type { TestGateway } from './gateway.js';

export interface RecordedRequest {
  method: string;
  /** The request target exactly as sent (path and query, not normalised). */
  rawUrl: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Header lines as sent, names and values alternating. */
  rawHeaders: string[];
  body: string;
}

export type Behaviour =
  | { kind: 'json'; status?: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'text'; status?: number; body: string; headers?: Record<string, string> }
  | { kind: 'redirect'; status?: number; location: string }
  /** Waits `ms` before answering with `then` (or the echo). */
  | { kind: 'delay'; ms: number; then?: Behaviour }
  /** Never answers (until the server closes). */
  | { kind: 'hang' }
  /** Streams `bytes` of JSON-ish filler, with or without a Content-Length. */
  | { kind: 'huge'; bytes: number; declareLength?: boolean };

export interface HugeStream {
  /** Bytes actually written before the stream ended or the peer went away. */
  sent: number;
  /** The peer closed the connection before the whole body was written. */
  cutOff: boolean;
  done: Promise<void>;
}

export interface TestUpstream {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** The last huge body streamed. */
  lastHuge(): HugeStream | undefined;
  /** Answers requests whose path starts with `prefix` (longest prefix wins). */
  route(prefix: string, behaviour: Behaviour): void;
  /** Waits until at least `n` requests were recorded. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export async function startUpstream(
  opts: { tls?: { key: string | Buffer; cert: string | Buffer } } = {},
): Promise<TestUpstream> {
  const requests: RecordedRequest[] = [];
  const routes = new Map<string, Behaviour>();
  const sockets = new Set<Socket>();
  const waiters: (() => void)[] = [];
  let huge: HugeStream | undefined;
  let accepted = 0;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawUrl = req.url ?? '/';
      const parsed = new URL(rawUrl, 'http://upstream.invalid');
      const rec: RecordedRequest = {
        method: req.method ?? '',
        rawUrl,
        path: rawUrl.split('?')[0] ?? '',
        query: parsed.searchParams,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(rec);
      for (const w of waiters.splice(0)) w();
      const prefix = [...routes.keys()].filter((p) => rec.path.startsWith(p)).sort((a, b) => b.length - a.length)[0];
      answer(res, prefix === undefined ? undefined : routes.get(prefix), rec);
    });
  };

  function answer(res: ServerResponse, b: Behaviour | undefined, rec: RecordedRequest): void {
    if (!b) {
      const echo = JSON.stringify({ method: rec.method, path: rec.path, query: [...rec.query], body: rec.body });
      res.writeHead(200, { 'content-type': 'application/json' }).end(echo);
      return;
    }
    switch (b.kind) {
      case 'json':
        res
          .writeHead(b.status ?? 200, { 'content-type': 'application/json', ...b.headers })
          .end(JSON.stringify(b.body));
        return;
      case 'text':
        res.writeHead(b.status ?? 200, { 'content-type': 'text/plain; charset=utf-8', ...b.headers }).end(b.body);
        return;
      case 'redirect':
        res.writeHead(b.status ?? 302, { location: b.location, 'content-type': 'text/plain' }).end('moved');
        return;
      case 'delay': {
        const timer = setTimeout(() => answer(res, b.then, rec), b.ms);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case 'hang':
        return;
      case 'huge':
        huge = streamHuge(res, b.bytes, b.declareLength ?? false);
        return;
    }
  }

  const server: Server = opts.tls ? createHttpsServer(opts.tls, handler) : createHttpServer(handler);
  server.on('connection', (s: Socket) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => accepted,
    lastHuge: () => huge,
    route: (prefix, behaviour) => void routes.set(prefix, behaviour),
    waitFor: (n, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`expected ${n} upstream requests, got ${requests.length}`)),
          timeoutMs,
        );
        const check = (): void => {
          if (requests.length >= n) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      }),
    reset: () => {
      requests.length = 0;
      routes.clear();
      huge = undefined;
      accepted = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes `bytes` of filler with backpressure, noting whether the peer went away first. */
function streamHuge(res: ServerResponse, bytes: number, declareLength: boolean): HugeStream {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const state: HugeStream = { sent: 0, cutOff: false, done: Promise.resolve() };
  state.done = new Promise<void>((resolve) => {
    res.on('close', () => {
      if (state.sent < bytes || !res.writableFinished) state.cutOff = state.sent < bytes;
      resolve();
    });
    res.writeHead(200, {
      'content-type': 'text/plain',
      ...(declareLength && { 'content-length': String(bytes) }),
    });
    const pump = (): void => {
      while (state.sent < bytes && !res.destroyed) {
        const n = Math.min(chunk.length, bytes - state.sent);
        state.sent += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      if (state.sent >= bytes && !res.destroyed) res.end();
    };
    pump();
  });
  return state;
}

/**
 * The REST tools of the integration and security tests, against the upstream `rest` at
 * `${env:UP}/api/v1` (gateway JWT, identity headers), `slow` (500 ms total) and any
 * `extraUpstreams`. Principals as in helpers/gateway.ts; audit instance `rest-1`.
 */
export function restConfigYaml(extra: { upstreams?: string; tools?: string } = {}): string {
  return `
dataDir: .portcullis
server: { host: 127.0.0.1, port: 3000 }
auth:
  issuers:
    - issuer: urn:portcullis:dev
      algorithms: [HS256]
      secretFile: .portcullis/dev-secret
  roles: [user, admin]
audit: { instance: rest-1 }
upstreams:
  rest:
    baseUrl: \${env:UP}/api/v1
    allowPrivateNetwork: true
    allowInsecureHttp: true
    timeoutMs: 10000
    maxResponseBytes: 1048576
    identityHeaders: true
    headers: { X-Api-Version: "2026-01-01" }
    auth: { gatewayJwt: { audience: "urn:test:rest" } }
  slow:
    baseUrl: \${env:UP}/api/v1
    allowPrivateNetwork: true
    allowInsecureHttp: true
    timeoutMs: 500
${extra.upstreams ?? ''}
tools:
  - name: get_file
    description: A file's content; the search term and trace id go along.
    roles: [user, admin]
    readOnly: true
    input:
      type: object
      required: [fileId]
      properties:
        fileId: { type: string, maxLength: 300 }
        search: { type: string, maxLength: 300 }
        trace: { type: string, maxLength: 300 }
    http:
      upstream: rest
      method: GET
      path: /files/{fileId}/content
      query: { search: search }
      headers: { X-Trace-Id: trace }
      tenant: { query: org_id }
  - name: create_item
    description: Creates an item in your organisation.
    roles: [user, admin]
    input:
      type: object
      required: [name]
      properties:
        name: { type: string, maxLength: 100 }
        amount: { type: integer, minimum: 0, maximum: 1000000 }
        org_id: { type: string, maxLength: 64 }
    http:
      upstream: rest
      method: POST
      path: /items
      body: { args: [name, amount, org_id] }
      tenant: { body: org_id }
      successStatus: [200, 201]
  - name: delete_item
    description: Deletes an item.
    roles: [admin]
    destructive: true
    input:
      type: object
      required: [itemId, confirm]
      properties:
        itemId: { type: string, maxLength: 64 }
        confirm: { type: boolean }
    http: { upstream: rest, method: DELETE, path: "/orgs/{org}/items/{itemId}", tenant: { path: org } }
  - name: get_invoice
    description: One invoice as structured data.
    roles: [user, admin]
    readOnly: true
    input:
      type: object
      required: [invoiceId]
      properties:
        invoiceId: { type: string, maxLength: 64 }
    output:
      type: object
      required: [id, amountCents]
      properties:
        id: { type: string }
        amountCents: { type: integer }
    http: { upstream: rest, method: GET, path: "/invoices/{invoiceId}" }
  - name: get_path
    description: GETs a fixed path of the test upstream (redirects, failures, huge bodies, text).
    roles: [user, admin]
    readOnly: true
    input:
      type: object
      required: [which]
      properties:
        which: { enum: [text, redirect-meta, redirect-local, fail, huge, huge-declared, gzip, array] }
    http: { upstream: rest, method: GET, path: "/fixed/{which}" }
  - name: slow_call
    description: Calls the slow upstream.
    roles: [user, admin]
    readOnly: true
    input: { type: object, properties: {} }
    http: { upstream: slow, method: GET, path: /slow }
${extra.tools ?? ''}
`;
}

/** Writes the REST config into a temp file and starts a gateway on it (see startGateway). */
export async function startRestGateway(
  up: TestUpstream,
  extra: { upstreams?: string; tools?: string; env?: Record<string, string> } = {},
): Promise<TestGateway> {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-rest-'));
  const file = path.join(dir, 'portcullis.yaml');
  writeFileSync(file, restConfigYaml(extra));
  try {
    return await startGateway({ configFile: file, env: { UP: up.url, ...extra.env } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
