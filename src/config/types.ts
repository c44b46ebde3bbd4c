/**
 * The resolved, validated, frozen configuration the gateway runs on. Produced only by
 * `loadConfig` (config/load.ts); every default lives in config/defaults.ts.
 */

export interface IssuerConfig {
  /** Exact `iss` value. */
  readonly issuer: string;
  /** Algorithm allow-list for this issuer (SEC-AUTH-05). */
  readonly algorithms: readonly string[];
  /** Exactly one key source. */
  readonly secret?: string;
  readonly jwksUri?: string;
  readonly jwksFile?: string;
  /** If set, tokens must carry this `typ` (e.g. `at+jwt`, RFC 9068). */
  readonly typ?: string;
  /** If set, only these tenants may be asserted by this issuer (SEC-AUTH-12). */
  readonly tenants?: readonly string[];
}

export interface ClaimNames {
  readonly user: string;
  readonly tenant: string;
  readonly roles: string;
  readonly scopes: string;
}

export interface AuthConfig {
  readonly issuers: readonly IssuerConfig[];
  /** Accepted `aud` values; default: the canonical resource URI. */
  readonly audiences: readonly string[];
  readonly strictAudience: boolean;
  readonly clockToleranceSec: number;
  readonly maxTokenAgeSec: number;
  readonly maxTokenBytes: number;
  readonly claims: ClaimNames;
  /** Known roles; a token role outside this list is ignored (empty list: any role string). */
  readonly roles: readonly string[];
  readonly authorizationServers: readonly string[];
  readonly scopesSupported: readonly string[];
  /** Size of the verified-token cache (0 disables it). */
  readonly tokenCacheSize: number;
  /** Revoked token ids and users (auth/denylist.ts), re-read every `reloadSec`. */
  readonly denylist?: { readonly file: string; readonly reloadSec: number };
}

export interface TlsConfig {
  readonly cert: string;
  readonly key: string;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** Public base URL, e.g. `https://mcp.example.com`; the MCP endpoint is `${publicUrl}/mcp`. */
  readonly publicUrl: string;
  readonly allowedHosts: readonly string[];
  readonly allowedOrigins: readonly string[];
  readonly bodyLimitBytes: number;
  readonly maxJsonDepth: number;
  readonly tls?: TlsConfig;
  /** The gateway sits behind a TLS-terminating proxy on these peer addresses. */
  readonly trustedProxies: readonly string[];
  readonly dangerouslyAllowInsecureHttp: boolean;
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

export interface SessionConfig {
  readonly idleTimeoutSec: number;
  readonly absoluteTimeoutSec: number;
  readonly maxPerPrincipal: number;
  readonly maxTotal: number;
  readonly maxStreamsPerSession: number;
}

/** A rate: `requests` per `windowSec`, with bursts of up to `burst` (default: `requests`). */
export interface RateConfig {
  readonly requests: number;
  readonly windowSec: number;
  readonly burst: number;
}

export interface LimitsConfig {
  /** Per client IP, checked before authentication (caps 401 floods and signature checks). */
  readonly perIp: RateConfig;
  /** Per principal `(iss, sub)`, every JSON-RPC request and stream. */
  readonly perPrincipal: RateConfig;
  readonly perTenant: RateConfig;
  /** All callers of one tool together (tools may override with `globalRateLimit`). */
  readonly perTool: RateConfig;
  /** One principal calling one tool (tools may override with `rateLimit`). */
  readonly perPrincipalTool: RateConfig;
  /** Notifications per principal (they are cheap, but not free). */
  readonly notificationsPerPrincipal: RateConfig;
  readonly concurrentPerPrincipal: number;
  readonly concurrentPerSession: number;
  /** Where the rate counters live (absent: memory). */
  readonly store?: RateLimitStoreConfig;
}

/**
 * Rate counters in this process, or in one Redis shared by every replica (SEC-RL-04). While
 * Redis is unreachable or slower than `timeoutMs`, each gateway limits on its own at the
 * configured rates divided by `expectedReplicas`.
 */
export type RateLimitStoreConfig =
  | { readonly kind: 'memory' }
  | {
      readonly kind: 'redis';
      /** `redis://[user:password@]host[:port][/db]` or `rediss://…`. */
      readonly url: string;
      readonly keyPrefix: string;
      readonly timeoutMs: number;
      readonly expectedReplicas: number;
    };

export interface AuditConfig {
  /**
   * SQLite file (default `${dataDir}/audit.sqlite`); `undefined` when disabled. `synchronous`:
   * `full` (default) fsyncs every batch's COMMIT, so an acknowledged event survives power loss;
   * `normal` leaves the WAL to the OS at COMMIT (fsync at checkpoints): it still survives the
   * process being killed (`kill -9`, a crash), not a power cut or kernel panic.
   */
  readonly sqlite?: { readonly path: string; readonly synchronous?: 'full' | 'normal' };
  /**
   * PostgreSQL, for several gateways sharing one trail (each under its own `instance`): the
   * connection URL (may hold a password: never logged as is) and the table, created if missing.
   */
  readonly postgres?: { readonly url: string; readonly table: string };
  /** JSON lines: a file path, or `-` for stdout. */
  readonly jsonl?: { readonly path: string };
  /** `closed`: a tool call whose audit cannot be stored does not run. `openForReadOnly`: read-only tools still run. */
  readonly failMode: 'closed' | 'openForReadOnly';
  /** Argument names (case-insensitive, substrings) whose values are redacted. */
  readonly redactKeys: readonly string[];
  /** Group commit: a batch is written when it holds this many events or is this old. */
  readonly batchMaxEvents: number;
  readonly batchMaxDelayMs: number;
  /** Instance name in events and the chain (default: host name and port). */
  readonly instance: string;
}

export interface ObservabilityConfig {
  readonly metrics: boolean;
  /** If set, /metrics, /healthz and /readyz are served on this separate listener instead. */
  readonly admin?: { readonly host: string; readonly port: number };
}

export interface ModuleBackend {
  readonly kind: 'module';
  /** `builtin` names a handler shipped with Portcullis (e.g. `demo.get_user_profile`). */
  readonly builtin?: string;
  /** Or a JavaScript module path (resolved against the config file) and its export. */
  readonly file?: string;
  readonly export?: string;
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A REST call to a configured upstream (tools/http); only mapped arguments are sent. */
export interface HttpBackend {
  readonly kind: 'http';
  /** Name of an entry of `upstreams`. */
  readonly upstream: string;
  readonly method: HttpMethod;
  /** Relative to the upstream's base URL; `{name}` is an input property (or the tenant). */
  readonly path: string;
  /** Query parameter name → argument name. */
  readonly query: Readonly<Record<string, string>>;
  /** Header name (lower case) → argument name. */
  readonly headers: Readonly<Record<string, string>>;
  /** JSON body: an object of these arguments, or the value of one argument. */
  readonly body?: { readonly args: readonly string[] } | { readonly arg: string };
  /** Where the caller's tenant is written, last, so no argument can override it. */
  readonly tenant?: { readonly in: 'query' | 'header' | 'body' | 'path'; readonly name: string };
  /** Statuses that count as success (default: any 2xx). */
  readonly successStatus?: readonly number[];
}

/** A tool of a federated upstream MCP server (tools/mcp); the gateway's own definition is what clients see. */
export interface McpBackend {
  readonly kind: 'mcp';
  /** Name of an entry of `upstreams` whose baseUrl is the MCP endpoint (Streamable HTTP). */
  readonly upstream: string;
  /** The upstream's name of the tool. */
  readonly tool: string;
  /** Approved definition hash (`sha256:…`); without it, the first definition seen is pinned. */
  readonly pin?: string;
}

export type ToolBackend = ModuleBackend | HttpBackend | McpBackend;

export type UpstreamAuthConfig =
  | { readonly kind: 'gatewayJwt'; readonly audience: string; readonly ttlSec: number }
  | { readonly kind: 'apiKey'; readonly header: string; readonly value: string }
  | {
      readonly kind: 'oauthClientCredentials';
      readonly tokenUrl: string;
      readonly clientId: string;
      readonly clientSecret: string;
      readonly scope?: string;
      readonly audience?: string;
    };

/** A REST upstream (SEC-UP-04/05): scheme, host, port and path prefix fixed here. */
export interface UpstreamConfig {
  readonly name: string;
  /** Without a trailing slash, e.g. `https://billing.example.com/api/v1`. */
  readonly baseUrl: string;
  readonly origin: string;
  /** Lower-case host name (IPv6 in brackets): the egress allow-list entry. */
  readonly hostname: string;
  /** Path prefix without a trailing slash (`''` for the root). */
  readonly basePath: string;
  /** Loopback/private/CGNAT/ULA destinations allowed (dev, internal services). */
  readonly allowPrivateNetwork: boolean;
  /** Plain http allowed (to loopback/private addresses only). */
  readonly allowInsecureHttp: boolean;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly maxConcurrent: number;
  /** Open the circuit after `failures` consecutive upstream faults; probe again after `cooldownMs`. */
  readonly circuitBreaker: { readonly failures: number; readonly cooldownMs: number };
  /** Send X-Portcullis-User/-Tenant/-Roles/-Request-Id. */
  readonly identityHeaders: boolean;
  /** Static headers (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
  /** Extra CA (PEM) trusted for this upstream; verification is always on. */
  readonly caFile?: string;
  readonly auth?: UpstreamAuthConfig;
}

/** The gateway's own key for `gatewayJwt` credentials. */
export interface UpstreamSigningConfig {
  /** Absolute path of the private JWK (generated, 0600, when absent). */
  readonly keyFile: string;
  readonly algorithm: 'ES256' | 'EdDSA' | 'RS256';
  /** `iss` of the gateway's tokens (default: server.publicUrl). */
  readonly issuer: string;
}

export interface ToolConfig {
  readonly name: string;
  readonly title?: string;
  readonly description: string;
  /** JSON Schema (2020-12) of the arguments. */
  readonly input: Readonly<Record<string, unknown>>;
  readonly output?: Readonly<Record<string, unknown>>;
  /** Any-of: the principal needs one of these roles. */
  readonly roles: readonly string[];
  /** All-of: the token needs every one of these scopes. */
  readonly scopes: readonly string[];
  /** Argument forced to the caller's tenant. */
  readonly tenantArg?: string;
  readonly destructive: boolean;
  readonly readOnly: boolean;
  readonly timeoutMs: number;
  /** Per-principal rate for this tool (overrides `limits.perPrincipalTool`). */
  readonly rateLimit?: RateConfig;
  /** Rate for all callers of this tool together (overrides `limits.perTool`). */
  readonly globalRateLimit?: RateConfig;
  /** Client capabilities the tool needs (e.g. `sampling`); callers without them are refused (-32021). */
  readonly clientCapabilities?: readonly string[];
  readonly backend: ToolBackend;
}

export interface DemoConfig {
  /** SQLite file of the demo SaaS database. */
  readonly database: string;
  /** Also expose the conformance-suite fixture tools (test_*). */
  readonly fixtures: boolean;
  /**
   * Start the demo Projects REST API on a free loopback port and point this upstream (which must
   * take the gateway's JWT) at it: its configured base URL's origin is replaced at start.
   */
  readonly projectsApi?: { readonly upstream: string };
}

export interface LoggingConfig {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
}

export interface GatewayConfig {
  /** Directory relative paths in the config were resolved against. */
  readonly baseDir: string;
  /** Where the gateway keeps its own state (dev secret, demo DB, audit). */
  readonly dataDir: string;
  readonly server: ServerConfig;
  readonly auth: AuthConfig;
  readonly sessions: SessionConfig;
  readonly tools: readonly ToolConfig[];
  /** REST upstreams of `http` tools, by name. */
  readonly upstreams: Readonly<Record<string, UpstreamConfig>>;
  readonly upstreamSigning: UpstreamSigningConfig;
  readonly limits: LimitsConfig;
  readonly audit: AuditConfig;
  readonly observability: ObservabilityConfig;
  readonly demo?: DemoConfig;
  readonly logging: LoggingConfig;
}
