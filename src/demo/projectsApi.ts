/**
 * The demo Projects API: a small REST service on loopback that the embedded demo exposes through
 * `http` tools, so the REST path works without setup. It trusts nothing but the gateway's own
 * short-lived JWT (`Authorization: Bearer`, verified against the gateway's published key set,
 * audience = this API); the tenant and user come from that token's claims, never from the request
 * path or body. It is what a company's upstream looks like behind Portcullis, in ~150 lines.
 *
 *   GET    /v1/projects?status=active|archived&limit=N
 *   GET    /v1/projects/{projectId}
 *   POST   /v1/projects            {"name": "...", "description": "..."}
 *   DELETE /v1/projects/{projectId}   (archives it)
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import type { ProjectsStore, ProjectStatus } from './projectsStore.js';

export interface ProjectsApiOptions {
  store: ProjectsStore;
  /** The gateway's public keys (its `/.well-known/jwks.json`). */
  keys: JWTVerifyGetKey;
  /** Expected `iss` (the gateway) and `aud` (this API) of the gateway's tokens. */
  issuer: string;
  audience: string;
  /** Claim names in the gateway's tokens. */
  claims?: { user?: string; tenant?: string };
  host?: string;
  port?: number;
}

export interface ProjectsApi {
  /** Base URL of the API, e.g. `http://127.0.0.1:41234/v1`. */
  readonly url: string;
  close(): Promise<void>;
}

const ID = /^prj_[A-Za-z0-9_-]{1,64}$/;
const MAX_BODY = 16 * 1024;
const STATUSES: readonly ProjectStatus[] = ['active', 'archived'];

type Answer = { status: number; body?: unknown };
type Caller = { user: string; tenant: string };

export async function startProjectsApi(options: ProjectsApiOptions): Promise<ProjectsApi> {
  const userClaim = options.claims?.user ?? 'sub';
  const tenantClaim = options.claims?.tenant ?? 'org_id';

  async function authenticate(req: IncomingMessage): Promise<Caller | undefined> {
    const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.headers.authorization ?? '');
    if (!m?.[1]) return undefined;
    try {
      const { payload } = await jwtVerify(m[1], options.keys, {
        issuer: options.issuer,
        audience: options.audience,
        requiredClaims: ['exp', userClaim, tenantClaim],
        maxTokenAge: '5m',
      });
      const user = payload[userClaim];
      const tenant = payload[tenantClaim];
      return typeof user === 'string' && typeof tenant === 'string' ? { user, tenant } : undefined;
    } catch {
      return undefined;
    }
  }

  async function route(req: IncomingMessage, caller: Caller): Promise<Answer> {
    const url = new URL(req.url ?? '/', 'http://projects.invalid');
    const parts = url.pathname.split('/');
    if (parts[1] !== 'v1' || parts[2] !== 'projects' || parts.length > 4) return { status: 404 };
    const id = parts[3];
    const { store } = options;
    if (id === undefined || id === '') {
      if (req.method === 'GET') {
        const status = url.searchParams.get('status');
        const limit = Number(url.searchParams.get('limit') ?? 20);
        if (status !== null && !STATUSES.includes(status as ProjectStatus)) return invalid('status');
        if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100) return invalid('limit');
        const projects = store.list({
          tenantId: caller.tenant,
          ...(status !== null && { status: status as ProjectStatus }),
          limit,
        });
        return { status: 200, body: { projects } };
      }
      if (req.method === 'POST') {
        const body = await readJson(req);
        if (!body) return invalid('body');
        const { name, description = '' } = body;
        if (typeof name !== 'string' || name.length < 1 || name.length > 100) return invalid('name');
        if (typeof description !== 'string' || description.length > 1000) return invalid('description');
        return {
          status: 201,
          body: store.create({ tenantId: caller.tenant, name, description, createdBy: caller.user }),
        };
      }
      return { status: 405 };
    }
    if (!ID.test(id)) return { status: 404, body: { error: 'not_found' } };
    if (req.method === 'GET') {
      const project = store.get(caller.tenant, id);
      return project ? { status: 200, body: project } : { status: 404, body: { error: 'not_found' } };
    }
    if (req.method === 'DELETE') {
      const project = store.archive(caller.tenant, id);
      return project ? { status: 200, body: project } : { status: 404, body: { error: 'not_found' } };
    }
    return { status: 405 };
  }

  const server = createServer((req, res) => {
    void (async () => {
      const caller = await authenticate(req);
      if (!caller) return send(res, { status: 401, body: { error: 'unauthorized' } });
      send(res, await route(req, caller));
    })().catch(() => send(res, { status: 500, body: { error: 'internal' } }));
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const invalid = (field: string): Answer => ({ status: 400, body: { error: 'invalid_request', field } });

function send(res: ServerResponse, a: Answer): void {
  if (res.headersSent) return;
  const text = a.body === undefined ? '' : JSON.stringify(a.body);
  res.writeHead(a.status, {
    ...(text && { 'content-type': 'application/json' }),
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
