/** Every default of the configuration, in one place (STYLE 8). */

export const DEFAULTS = {
  dataDir: '.portcullis',
  server: {
    host: '127.0.0.1',
    port: 3000,
    bodyLimitBytes: 1024 * 1024,
    maxJsonDepth: 32,
    tlsMinVersion: 'TLSv1.3' as const,
    requestTimeoutMs: 30_000,
    headersTimeoutMs: 20_000,
    keepAliveTimeoutMs: 5_000,
  },
  auth: {
    strictAudience: false,
    clockToleranceSec: 30,
    maxTokenAgeSec: 24 * 3600,
    maxTokenBytes: 8 * 1024,
    claims: { user: 'sub', tenant: 'org_id', roles: 'roles', scopes: 'scope' },
    tokenCacheSize: 10_000,
    /** HS256 secrets shorter than this are refused (SEC-AUTH-05). */
    minSecretBytes: 32,
  },
  sessions: {
    idleTimeoutSec: 30 * 60,
    absoluteTimeoutSec: 24 * 3600,
    maxPerPrincipal: 32,
    maxTotal: 10_000,
    maxStreamsPerSession: 1,
  },
  tool: {
    timeoutMs: 30_000,
  },
  limits: {
    perIp: { requests: 1200, windowSec: 60 },
    perPrincipal: { requests: 600, windowSec: 60 },
    perTenant: { requests: 3000, windowSec: 60 },
    perTool: { requests: 6000, windowSec: 60 },
    perPrincipalTool: { requests: 120, windowSec: 60 },
    notificationsPerPrincipal: { requests: 600, windowSec: 60 },
    concurrentPerPrincipal: 16,
    concurrentPerSession: 8,
    redis: { keyPrefix: 'portcullis:rl:', timeoutMs: 50, expectedReplicas: 2 },
  },
  audit: {
    sqliteFile: 'audit.sqlite',
    postgresTable: 'portcullis_audit',
    failMode: 'closed' as const,
    redactKeys: [
      'password',
      'passwd',
      'secret',
      'token',
      'apikey',
      'api_key',
      'authorization',
      'cookie',
      'credential',
      'privatekey',
      'private_key',
      'ssn',
    ],
    batchMaxEvents: 512,
    batchMaxDelayMs: 0,
  },
  observability: { metrics: true },
  logging: { level: 'info' as const },
  /** Loopback names accepted in `Host` when bound to loopback (DNS-rebinding defence). */
  loopbackHosts: ['localhost', '127.0.0.1', '[::1]'],
} as const;

/** Tool names accepted anywhere (SEC-IN-05). */
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

/** Tenant, user and role ids asserted by tokens. */
export const CLAIM_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;
