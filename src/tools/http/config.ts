/**
 * The `upstreams:` map and a tool's `http:` block, from raw (schema-checked) config to the
 * resolved, checked form. Every problem is reported with its config path; nothing here touches
 * the network or the file system.
 */
import type {
  HttpBackend,
  HttpMethod,
  ToolConfig,
  UpstreamAuthConfig,
  UpstreamConfig,
  UpstreamSigningConfig,
} from '../../config/types.js';
import { parsePathTemplate } from './url.js';

export const UPSTREAM_DEFAULTS = {
  connectTimeoutMs: 2_000,
  timeoutMs: 10_000,
  maxResponseBytes: 1024 * 1024,
  maxConcurrent: 64,
  breakerFailures: 5,
  breakerCooldownMs: 30_000,
  gatewayJwtTtlSec: 60,
  signingKeyFile: 'upstream-signing-key.json',
  signingAlgorithm: 'ES256' as const,
} as const;

export const UPSTREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** RFC 9110 `token`: a header field name. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** Header values the gateway sends: visible ASCII and spaces/tabs, no CR, LF or NUL. */
export const HEADER_VALUE = /^[\t\x20-\x7e]{0,4096}$/;

/**
 * Headers neither a mapping nor a static header may set: framing and hop-by-hop fields,
 * credentials (they belong in `auth`, SEC-UP-01), and the gateway's own identity headers.
 */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
  'authorization',
  'cookie',
  'content-encoding',
  'accept-encoding',
  'content-type',
]);

export function isReservedHeader(name: string): boolean {
  const n = name.toLowerCase();
  return RESERVED_HEADERS.has(n) || n.startsWith('x-portcullis-');
}

const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

export interface RawUpstream {
  baseUrl: string;
  allowPrivateNetwork?: boolean;
  allowInsecureHttp?: boolean;
  connectTimeoutMs?: number;
  timeoutMs?: number;
  maxResponseBytes?: number;
  maxConcurrent?: number;
  circuitBreaker?: { failures?: number; cooldownMs?: number };
  identityHeaders?: boolean;
  headers?: Record<string, string>;
  caFile?: string;
  auth?: {
    gatewayJwt?: { audience?: string; ttlSec?: number };
    apiKey?: { header: string; value: string };
    oauthClientCredentials?: {
      tokenUrl: string;
      clientId: string;
      clientSecret: string;
      scope?: string;
      audience?: string;
    };
  };
}

export interface RawHttpBackend {
  upstream: string;
  method: HttpMethod;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: { args?: string[]; arg?: string };
  tenant?: { query?: string; header?: string; body?: string; path?: string };
  successStatus?: number[];
}

/** Resolves `upstreams:`; `abs` resolves a path against the config file's directory. */
export function resolveUpstreams(
  raw: Record<string, RawUpstream> | undefined,
  abs: (p: string) => string,
  problems: string[],
): Record<string, UpstreamConfig> {
  const out: Record<string, UpstreamConfig> = {};
  for (const [name, u] of Object.entries(raw ?? {})) {
    const at = `/upstreams/${name}`;
    if (!UPSTREAM_NAME.test(name) || RESERVED_NAMES.has(name)) {
      problems.push(`${at}: invalid upstream name`);
      continue;
    }
    const resolved = resolveUpstream(name, u, at, abs, problems);
    if (resolved) out[name] = resolved;
  }
  return out;
}

function resolveUpstream(
  name: string,
  u: RawUpstream,
  at: string,
  abs: (p: string) => string,
  problems: string[],
): UpstreamConfig | undefined {
  const base = parseBaseUrl(u.baseUrl, `${at}/baseUrl`, problems);
  if (!base) return undefined;
  const allowPrivateNetwork = u.allowPrivateNetwork ?? false;
  const allowInsecureHttp = u.allowInsecureHttp ?? false;
  if (base.protocol === 'http:') checkPlainHttp(`${at}/baseUrl`, allowInsecureHttp, problems);
  if (allowInsecureHttp && !allowPrivateNetwork) {
    problems.push(
      `${at}/allowInsecureHttp: plain http is only allowed to private addresses; set allowPrivateNetwork too`,
    );
  }
  const headers: Record<string, string> = {};
  for (const [h, v] of Object.entries(u.headers ?? {})) {
    if (!HEADER_NAME.test(h) || isReservedHeader(h)) problems.push(`${at}/headers/${h}: header name not allowed`);
    else if (!HEADER_VALUE.test(v)) problems.push(`${at}/headers/${h}: header value has forbidden characters`);
    else headers[h.toLowerCase()] = v;
  }
  const auth = resolveAuth(u.auth, base, `${at}/auth`, allowInsecureHttp, problems);
  return {
    name,
    baseUrl: base.href.replace(/\/$/, ''),
    origin: base.origin,
    hostname: base.hostname.toLowerCase(),
    basePath: base.pathname.replace(/\/$/, ''),
    allowPrivateNetwork,
    allowInsecureHttp,
    connectTimeoutMs: u.connectTimeoutMs ?? UPSTREAM_DEFAULTS.connectTimeoutMs,
    timeoutMs: u.timeoutMs ?? UPSTREAM_DEFAULTS.timeoutMs,
    maxResponseBytes: u.maxResponseBytes ?? UPSTREAM_DEFAULTS.maxResponseBytes,
    maxConcurrent: u.maxConcurrent ?? UPSTREAM_DEFAULTS.maxConcurrent,
    circuitBreaker: {
      failures: u.circuitBreaker?.failures ?? UPSTREAM_DEFAULTS.breakerFailures,
      cooldownMs: u.circuitBreaker?.cooldownMs ?? UPSTREAM_DEFAULTS.breakerCooldownMs,
    },
    identityHeaders: u.identityHeaders ?? false,
    headers,
    ...(u.caFile !== undefined && { caFile: abs(u.caFile) }),
    ...(auth && { auth }),
  };
}

/** scheme://host[:port][/prefix]: no credentials, query or fragment (SEC-UP-04: fixed in config). */
function parseBaseUrl(text: string, at: string, problems: string[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push(`${at}: not a URL`);
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(`${at}: must be https (or http in dev)`);
  else if (url.username || url.password) problems.push(`${at}: must not contain credentials`);
  else if (url.search || url.hash || text.includes('?') || text.includes('#'))
    problems.push(`${at}: must not contain a query or fragment`);
  else if (!/^([a-z0-9-]+\.)*[a-z0-9-]+\.?$|^\[[0-9a-f:.]+\]$/i.test(url.hostname))
    problems.push(`${at}: the host must be a plain host name or IP address (hosts are never templated)`);
  else if (url.pathname.includes('%') || /\/(\.|%2e){1,2}(\/|$)/i.test(text))
    problems.push(`${at}: the path prefix must not contain % or dot segments`);
  else return url;
  return undefined;
}

/** SEC-UP-05: HTTPS outside dev; the egress also refuses plain http to a public address. */
function checkPlainHttp(at: string, insecure: boolean, problems: string[]): void {
  if (!insecure) problems.push(`${at}: plain http needs allowInsecureHttp: true (dev only; use https)`);
}

function resolveAuth(
  raw: RawUpstream['auth'],
  base: URL,
  at: string,
  insecure: boolean,
  problems: string[],
): UpstreamAuthConfig | undefined {
  if (!raw) return undefined;
  const kinds = Object.keys(raw);
  if (kinds.length !== 1) {
    problems.push(`${at}: exactly one of gatewayJwt, apiKey, oauthClientCredentials is required`);
    return undefined;
  }
  if (raw.gatewayJwt) {
    return {
      kind: 'gatewayJwt',
      audience: raw.gatewayJwt.audience ?? base.origin,
      ttlSec: raw.gatewayJwt.ttlSec ?? UPSTREAM_DEFAULTS.gatewayJwtTtlSec,
    };
  }
  if (raw.apiKey) {
    const { header, value } = raw.apiKey;
    const lower = header.toLowerCase();
    if (!HEADER_NAME.test(header) || (isReservedHeader(header) && lower !== 'authorization'))
      problems.push(`${at}/apiKey/header: header name not allowed`);
    if (!HEADER_VALUE.test(value) || value === '') problems.push(`${at}/apiKey/value: empty or forbidden characters`);
    return { kind: 'apiKey', header: lower, value };
  }
  if (raw.oauthClientCredentials) {
    const o = raw.oauthClientCredentials;
    let tokenUrl: URL | undefined;
    try {
      tokenUrl = new URL(o.tokenUrl);
    } catch {
      problems.push(`${at}/oauthClientCredentials/tokenUrl: not a URL`);
    }
    if (tokenUrl && tokenUrl.protocol !== 'https:' && !(tokenUrl.protocol === 'http:' && insecure)) {
      problems.push(`${at}/oauthClientCredentials/tokenUrl: must be https (http only with allowInsecureHttp)`);
    }
    if (tokenUrl && (tokenUrl.username || tokenUrl.password || tokenUrl.hash)) {
      problems.push(`${at}/oauthClientCredentials/tokenUrl: must not contain credentials or a fragment`);
    }
    return {
      kind: 'oauthClientCredentials',
      tokenUrl: o.tokenUrl,
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      ...(o.scope !== undefined && { scope: o.scope }),
      ...(o.audience !== undefined && { audience: o.audience }),
    };
  }
  return undefined;
}

export function resolveSigning(
  raw: { keyFile?: string; algorithm?: UpstreamSigningConfig['algorithm']; issuer?: string } | undefined,
  dataDir: string,
  resolvePath: (dir: string, p: string) => string,
  publicUrl: string,
): UpstreamSigningConfig {
  return {
    keyFile: resolvePath(dataDir, raw?.keyFile ?? UPSTREAM_DEFAULTS.signingKeyFile),
    algorithm: raw?.algorithm ?? UPSTREAM_DEFAULTS.signingAlgorithm,
    issuer: raw?.issuer ?? publicUrl,
  };
}

/** Resolves a tool's `http:` block (shape only; `checkHttpTool` checks it against its tool). */
export function resolveHttpBackend(raw: RawHttpBackend): HttpBackend {
  const t = raw.tenant;
  const tenant =
    t?.query !== undefined
      ? { in: 'query' as const, name: t.query }
      : t?.header !== undefined
        ? { in: 'header' as const, name: t.header }
        : t?.body !== undefined
          ? { in: 'body' as const, name: t.body }
          : t?.path !== undefined
            ? { in: 'path' as const, name: t.path }
            : undefined;
  return {
    kind: 'http',
    upstream: raw.upstream,
    method: raw.method,
    path: raw.path,
    query: raw.query ?? {},
    headers: Object.fromEntries(Object.entries(raw.headers ?? {}).map(([h, a]) => [h.toLowerCase(), a])),
    ...(raw.body?.args !== undefined && { body: { args: raw.body.args } }),
    ...(raw.body?.arg !== undefined && { body: { arg: raw.body.arg } }),
    ...(tenant && { tenant }),
    ...(raw.successStatus !== undefined && { successStatus: raw.successStatus }),
  };
}

/**
 * Checks an http tool against its input schema and the upstreams: the upstream exists, every
 * `{var}` and every mapped argument is an input property, `confirm` is never mapped, header
 * names are allowed, a body has a method that carries one.
 */
export function checkHttpTool(
  tool: ToolConfig,
  b: HttpBackend,
  upstreams: Readonly<Record<string, UpstreamConfig>>,
  at: string,
  problems: string[],
): void {
  if (!Object.hasOwn(upstreams, b.upstream)) problems.push(`${at}/http/upstream: no upstream named '${b.upstream}'`);
  const props = inputProperties(tool.input);
  const tenantPath = b.tenant?.in === 'path' ? b.tenant.name : undefined;
  const needArg = (name: string, where: string): void => {
    if (name === 'confirm') problems.push(`${at}/http/${where}: 'confirm' is never sent upstream`);
    else if (!props.has(name)) problems.push(`${at}/http/${where}: '${name}' is not a property of the input schema`);
  };
  const template = parsePathTemplate(b.path);
  if (!template.ok) problems.push(`${at}/http/path: ${template.problem}`);
  else {
    for (const v of template.vars) if (v !== tenantPath) needArg(v, `path {${v}}`);
    if (tenantPath !== undefined && !template.vars.includes(tenantPath))
      problems.push(`${at}/http/tenant/path: the path has no {${tenantPath}}`);
  }
  for (const [q, arg] of Object.entries(b.query)) {
    if (q === '') problems.push(`${at}/http/query: empty parameter name`);
    needArg(arg, `query/${q}`);
  }
  for (const [h, arg] of Object.entries(b.headers)) {
    if (!HEADER_NAME.test(h) || isReservedHeader(h)) problems.push(`${at}/http/headers/${h}: header name not allowed`);
    needArg(arg, `headers/${h}`);
  }
  if (b.body) {
    if (b.method === 'GET' || b.method === 'HEAD') problems.push(`${at}/http/body: ${b.method} requests have no body`);
    if ('args' in b.body) b.body.args.forEach((a, i) => needArg(a, `body/args/${i}`));
    else needArg(b.body.arg, 'body/arg');
  }
  if (b.tenant?.in === 'header' && (!HEADER_NAME.test(b.tenant.name) || isReservedHeader(b.tenant.name)))
    problems.push(`${at}/http/tenant/header: header name not allowed`);
  if (b.tenant?.in === 'body' && !b.body) problems.push(`${at}/http/tenant/body: the request has no body mapping`);
}

function inputProperties(input: Readonly<Record<string, unknown>>): ReadonlySet<string> {
  const p = input.properties;
  return new Set(p !== null && typeof p === 'object' ? Object.keys(p) : []);
}
