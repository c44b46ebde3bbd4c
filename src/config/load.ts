/**
 * Loads the YAML configuration: parse, interpolate `${env:NAME}`, validate against the
 * schema (every problem at once, each with its path), apply defaults, resolve paths, freeze.
 * This is the only module that reads the environment (STYLE 8).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { Ajv } from 'ajv';
import { ErrorCodes, PortcullisError } from '../errors.js';
import { closeObjects, createSchemaCompiler } from '../policy/schema.js';
import { hostForUrl, hostnameOf, isLoopbackHost } from './hosts.js';
import { resolveLimits } from './limits.js';
import type { RawLimits } from './limits.js';
import { configSchema } from './schema.js';
import { expandOpenApi, relabelProblems } from '../tools/openapi/config.js';
import type { RawOpenApiEntry } from '../tools/openapi/config.js';
import { resolveSigning, resolveUpstreams } from '../tools/http/config.js';
import { resolveIssuers } from './issuers.js';
import type { RawIssuer } from './issuers.js';
import { resolveTools } from './tools.js';
import type { RawTool } from './tools.js';
import type { RawUpstream } from '../tools/http/config.js';
import { DEFAULTS } from './defaults.js';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { AuditConfig, GatewayConfig, ServerConfig, ToolConfig } from './types.js';

export interface LoadOptions {
  /** Environment for `${env:NAME}`; defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Resolve relative paths against this directory instead of the config file's. */
  baseDir?: string;
  /** Command-line overrides. */
  host?: string;
  port?: number;
}

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

const shapeAjv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const validateShape = shapeAjv.compile(configSchema);
/** Tools generated from `openapi:` entries get the same check as hand-written ones. */
const validateToolShape = shapeAjv.compile(configSchema.properties.tools.items);

/** Reads and validates a config file. Throws `PortcullisError` listing every problem. */
export function loadConfigFile(file: string, options: LoadOptions = {}): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PortcullisError(ErrorCodes.CONFIG_NOT_FOUND, `cannot read config file ${file}`, [String(err)], {
      cause: err,
    });
  }
  return loadConfigText(text, { ...options, baseDir: options.baseDir ?? path.dirname(path.resolve(file)) });
}

/** Parses and validates config text (YAML or JSON). */
export function loadConfigText(text: string, options: LoadOptions = {}): GatewayConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new PortcullisError(
      ErrorCodes.CONFIG_INVALID,
      'config is not valid YAML',
      doc.errors.map((e) => `(yaml) ${e.message.split('\n')[0] ?? ''}`),
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 50 });
  const problems: string[] = [];
  const env = options.env ?? process.env;
  const interpolated = interpolate(raw, '', env, problems);
  if (!validateShape(interpolated)) {
    for (const e of validateShape.errors ?? []) {
      const where = e.instancePath || '/';
      const extra =
        e.keyword === 'additionalProperties'
          ? ` '${String((e.params as { additionalProperty?: unknown }).additionalProperty)}'`
          : '';
      problems.push(`${where}: ${e.message ?? 'invalid'}${extra}`);
    }
  }
  const { raw: expanded, first, labels } = withOpenApiTools(interpolated, options, problems);
  const fail = (): PortcullisError => {
    const list = relabelProblems(problems, first, labels);
    return new PortcullisError(ErrorCodes.CONFIG_INVALID, `config has ${list.length} problem(s)`, list);
  };
  if (problems.length > 0) {
    // Report every problem at once: the later stages still run on whatever is well-formed.
    collectLaterProblems(expanded, options, problems);
    throw fail();
  }
  const config = resolve(expanded as RawConfig, options, problems);
  if (problems.length > 0) {
    collectSchemaProblems(config.tools, problems);
    throw fail();
  }
  return deepFreeze(config);
}

/**
 * Appends the tools of the `openapi:` entries (tools/openapi) to `tools`, once the config's own
 * shape is valid. `first` is the index of the first generated tool; `labels` name their origin.
 */
function withOpenApiTools(
  raw: unknown,
  options: LoadOptions,
  problems: string[],
): { raw: unknown; first: number; labels: string[] } {
  const cfg = raw as { openapi?: RawOpenApiEntry[]; tools?: unknown[]; upstreams?: Record<string, unknown> };
  if (problems.length > 0 || cfg.openapi === undefined) return { raw, first: 0, labels: [] };
  const upstreams = new Set(Object.keys(cfg.upstreams ?? {}));
  const { tools, labels } = expandOpenApi(cfg.openapi, options.baseDir ?? process.cwd(), upstreams, problems);
  tools.forEach((t, i) => {
    if (validateToolShape(t)) return;
    for (const e of validateToolShape.errors ?? [])
      problems.push(`${labels[i] ?? ''}${e.instancePath}: ${e.message ?? 'invalid'}`);
  });
  const first = cfg.tools?.length ?? 0;
  return { raw: { ...cfg, tools: [...(cfg.tools ?? []), ...tools] }, first, labels };
}

/**
 * After schema errors: run the semantic checks on a best-effort basis (a malformed section may
 * make them throw; then only what was found so far is added), plus the tool schema compilation.
 */
function collectLaterProblems(raw: unknown, options: LoadOptions, problems: string[]): void {
  const later: string[] = [];
  try {
    const config = resolve(raw as RawConfig, options, later);
    collectSchemaProblems(config.tools, later);
  } catch {
    // A section too malformed to resolve: its shape errors are already listed.
  }
  for (const p of later) if (!problems.includes(p)) problems.push(p);
}

/** Tool input/output schemas that do not compile (only run when the config already failed). */
function collectSchemaProblems(tools: readonly ToolConfig[], problems: string[]): void {
  const ajv = createSchemaCompiler();
  tools.forEach((t, i) => {
    for (const [key, schema] of [
      ['input', t.input],
      ['output', t.output],
    ] as const) {
      if (schema === null || typeof schema !== 'object') continue;
      try {
        ajv.compile(closeObjects(schema) as Record<string, unknown>);
      } catch (err) {
        problems.push(`/tools/${i}/${key}: ${(err as Error).message}`);
      }
    }
  });
}

function interpolate(value: unknown, at: string, env: LoadOptions['env'] & object, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push(`${at || '/'}: environment variable ${name} is not set`);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, `${at}/${i}`, env, problems));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // defineProperty: a YAML key `__proto__` stays an own (and then rejected) key, never a prototype.
    for (const [k, v] of Object.entries(value)) {
      const item = interpolate(v, `${at}/${k}`, env, problems);
      Object.defineProperty(out, k, { value: item, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

// The raw shape after schema validation (the schema guarantees these types).
interface RawConfig {
  dataDir?: string;
  server?: Partial<Omit<ServerConfig, 'tls'>> & {
    tls?: { cert: string; key: string; minVersion?: 'TLSv1.2' | 'TLSv1.3' };
  };
  auth: {
    issuers: RawIssuer[];
    audiences?: string[];
    strictAudience?: boolean;
    clockToleranceSec?: number;
    maxTokenAgeSec?: number;
    maxTokenBytes?: number;
    claims?: Partial<GatewayConfig['auth']['claims']>;
    roles?: string[];
    authorizationServers?: string[];
    scopesSupported?: string[];
    tokenCacheSize?: number;
    denylist?: { file: string; reloadSec?: number };
  };
  sessions?: Partial<GatewayConfig['sessions']>;
  tools?: RawTool[];
  upstreams?: Record<string, RawUpstream>;
  upstreamSigning?: { keyFile?: string; algorithm?: GatewayConfig['upstreamSigning']['algorithm']; issuer?: string };
  limits?: RawLimits;
  audit?: {
    sqlite?: false | { path?: string; synchronous?: 'full' | 'normal' };
    jsonl?: { path: string };
    postgres?: { url: string; table?: string };
    failMode?: AuditConfig['failMode'];
    redactKeys?: string[];
    batchMaxEvents?: number;
    batchMaxDelayMs?: number;
    instance?: string;
  };
  observability?: { metrics?: boolean; admin?: { host?: string; port: number } };
  demo?: { database?: string; fixtures?: boolean; projectsApi?: { upstream: string } };
  logging?: { level?: GatewayConfig['logging']['level'] };
}

function resolve(raw: RawConfig, options: LoadOptions, problems: string[]): GatewayConfig {
  const baseDir = options.baseDir ?? process.cwd();
  const abs = (p: string): string => path.resolve(baseDir, p);
  const dataDir = abs(raw.dataDir ?? DEFAULTS.dataDir);

  const s = raw.server ?? {};
  const host = options.host ?? s.host ?? DEFAULTS.server.host;
  const port = options.port ?? s.port ?? DEFAULTS.server.port;
  const tls = s.tls && {
    cert: abs(s.tls.cert),
    key: abs(s.tls.key),
    minVersion: s.tls.minVersion ?? DEFAULTS.server.tlsMinVersion,
  };
  const scheme = tls ? 'https' : 'http';
  const publicUrl = s.publicUrl ?? `${scheme}://${hostForUrl(host)}:${port}`;
  let publicHost = '';
  try {
    publicHost = new URL(publicUrl).host.toLowerCase();
  } catch {
    problems.push(`/server/publicUrl: not a URL`);
  }
  const loopback = isLoopbackHost(host);
  const allowedHosts = s.allowedHosts ?? [...(loopback ? DEFAULTS.loopbackHosts : []), hostnameOf(publicHost)];
  const allowedOrigins =
    s.allowedOrigins ??
    (loopback ? DEFAULTS.loopbackHosts.flatMap((h) => [`http://${h}:${port}`, `https://${h}:${port}`]) : []).concat(
      publicHost ? [new URL(publicUrl).origin] : [],
    );

  const resource = `${publicUrl}/mcp`;
  const issuers = resolveIssuers(raw.auth.issuers, abs, problems);

  const upstreams = resolveUpstreams(raw.upstreams, abs, problems);
  const tools = resolveTools(raw.tools ?? [], upstreams, abs, problems);

  const sess = raw.sessions ?? {};
  const config: GatewayConfig = {
    baseDir,
    dataDir,
    server: {
      host,
      port,
      publicUrl,
      allowedHosts: allowedHosts.filter(Boolean).map((h) => h.toLowerCase()),
      allowedOrigins,
      bodyLimitBytes: s.bodyLimitBytes ?? DEFAULTS.server.bodyLimitBytes,
      maxJsonDepth: s.maxJsonDepth ?? DEFAULTS.server.maxJsonDepth,
      ...(tls && { tls }),
      trustedProxies: s.trustedProxies ?? [],
      dangerouslyAllowInsecureHttp: s.dangerouslyAllowInsecureHttp ?? false,
      requestTimeoutMs: s.requestTimeoutMs ?? DEFAULTS.server.requestTimeoutMs,
      headersTimeoutMs: s.headersTimeoutMs ?? DEFAULTS.server.headersTimeoutMs,
      keepAliveTimeoutMs: s.keepAliveTimeoutMs ?? DEFAULTS.server.keepAliveTimeoutMs,
    },
    auth: {
      issuers,
      audiences: raw.auth.audiences ?? [resource],
      strictAudience: raw.auth.strictAudience ?? DEFAULTS.auth.strictAudience,
      clockToleranceSec: raw.auth.clockToleranceSec ?? DEFAULTS.auth.clockToleranceSec,
      maxTokenAgeSec: raw.auth.maxTokenAgeSec ?? DEFAULTS.auth.maxTokenAgeSec,
      maxTokenBytes: raw.auth.maxTokenBytes ?? DEFAULTS.auth.maxTokenBytes,
      claims: { ...DEFAULTS.auth.claims, ...raw.auth.claims },
      roles: raw.auth.roles ?? [],
      authorizationServers: raw.auth.authorizationServers ?? issuers.map((i) => i.issuer),
      scopesSupported: raw.auth.scopesSupported ?? [...new Set(tools.flatMap((t) => t.scopes))],
      tokenCacheSize: raw.auth.tokenCacheSize ?? DEFAULTS.auth.tokenCacheSize,
      ...(raw.auth.denylist && {
        denylist: { file: abs(raw.auth.denylist.file), reloadSec: raw.auth.denylist.reloadSec ?? 5 },
      }),
    },
    sessions: { ...DEFAULTS.sessions, ...sess },
    tools,
    upstreams,
    upstreamSigning: resolveSigning(raw.upstreamSigning, dataDir, (dir, p) => path.resolve(dir, p), publicUrl),
    limits: resolveLimits(raw.limits ?? {}, problems),
    audit: {
      ...(raw.audit?.sqlite !== false && {
        sqlite: {
          path: path.resolve(dataDir, raw.audit?.sqlite?.path ?? DEFAULTS.audit.sqliteFile),
          synchronous: raw.audit?.sqlite?.synchronous ?? 'full',
        },
      }),
      ...(raw.audit?.jsonl && { jsonl: { path: raw.audit.jsonl.path === '-' ? '-' : abs(raw.audit.jsonl.path) } }),
      ...(raw.audit?.postgres && {
        postgres: { url: raw.audit.postgres.url, table: raw.audit.postgres.table ?? DEFAULTS.audit.postgresTable },
      }),
      failMode: raw.audit?.failMode ?? DEFAULTS.audit.failMode,
      redactKeys: [
        ...new Set([...DEFAULTS.audit.redactKeys, ...(raw.audit?.redactKeys ?? []).map((k) => k.toLowerCase())]),
      ],
      batchMaxEvents: raw.audit?.batchMaxEvents ?? DEFAULTS.audit.batchMaxEvents,
      batchMaxDelayMs: raw.audit?.batchMaxDelayMs ?? DEFAULTS.audit.batchMaxDelayMs,
      instance: raw.audit?.instance ?? `${hostname()}:${port}`,
    },
    observability: {
      metrics: raw.observability?.metrics ?? DEFAULTS.observability.metrics,
      ...(raw.observability?.admin && {
        admin: { host: raw.observability.admin.host ?? '127.0.0.1', port: raw.observability.admin.port },
      }),
    },
    ...(raw.demo && {
      demo: {
        database: abs(raw.demo.database ?? path.join(dataDir, 'demo.sqlite')),
        fixtures: raw.demo.fixtures ?? false,
        ...(raw.demo.projectsApi && { projectsApi: { upstream: raw.demo.projectsApi.upstream } }),
      },
    }),
    logging: { level: raw.logging?.level ?? DEFAULTS.logging.level },
  };
  const roles = new Set(config.auth.roles);
  if (roles.size > 0) {
    tools.forEach((t, i) =>
      t.roles.forEach((r, j) => {
        if (!roles.has(r)) problems.push(`/tools/${i}/roles/${j}: role ${r} is not in /auth/roles`);
      }),
    );
  }
  const demoApi = config.demo?.projectsApi;
  if (demoApi && config.upstreams[demoApi.upstream]?.auth?.kind !== 'gatewayJwt') {
    problems.push(`/demo/projectsApi/upstream: '${demoApi.upstream}' must be an upstream that takes the gateway's JWT`);
  }
  if (raw.audit?.sqlite === false && !raw.audit.jsonl && !raw.audit.postgres)
    problems.push('/audit: at least one sink (sqlite, postgres or jsonl) is required');
  if (raw.audit?.postgres) checkPostgresUrl(raw.audit.postgres.url, problems);
  config.server.trustedProxies.forEach((entry, i) => {
    const [addr = '', prefix] = entry.split('/');
    const family = isIP(addr);
    const maxPrefix = family === 6 ? 128 : 32;
    if (family === 0 || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix))) {
      problems.push(`/server/trustedProxies/${i}: not an IP address or CIDR: ${entry}`);
    }
  });
  checkBind(config, problems);
  return config;
}

/** `audit.postgres.url`: a postgres:// URL with a database. Problems never quote it (it may hold a password). */
function checkPostgresUrl(url: string, problems: string[]): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.push('/audit/postgres/url: not a URL');
    return;
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    problems.push('/audit/postgres/url: must be postgres:// or postgresql://');
  if (parsed.pathname.length <= 1) problems.push('/audit/postgres/url: no database name (postgres://host/DATABASE)');
}

/** SEC-SES-11: a non-loopback bind without TLS is refused unless explicitly allowed. */
function checkBind(config: GatewayConfig, problems: string[]): void {
  const s = config.server;
  if (s.tls || isLoopbackHost(s.host)) return;
  if (s.dangerouslyAllowInsecureHttp || s.trustedProxies.length > 0) return;
  problems.push(
    `/server/host: binding ${s.host} without TLS is refused; configure server.tls, server.trustedProxies (TLS-terminating proxy) or server.dangerouslyAllowInsecureHttp`,
  );
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
