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
}

export interface AuditConfig {
  /** SQLite file (default `${dataDir}/audit.sqlite`); `undefined` when disabled. */
  readonly sqlite?: { readonly path: string };
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

export type ToolBackend = ModuleBackend;

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
  readonly limits: LimitsConfig;
  readonly audit: AuditConfig;
  readonly observability: ObservabilityConfig;
  readonly demo?: DemoConfig;
  readonly logging: LoggingConfig;
}
