/**
 * JSON Schema of the YAML configuration file. Unknown keys are rejected everywhere
 * (`additionalProperties: false`) so a typo never silently weakens a policy.
 */

const str = { type: 'string', minLength: 1 } as const;
const strList = { type: 'array', items: str } as const;
const posInt = { type: 'integer', minimum: 1 } as const;
const nonNegInt = { type: 'integer', minimum: 0 } as const;

const rate = {
  type: 'object',
  additionalProperties: false,
  required: ['requests', 'windowSec'],
  properties: { requests: posInt, windowSec: posInt, burst: posInt },
} as const;

const issuer = {
  type: 'object',
  additionalProperties: false,
  required: ['issuer', 'algorithms'],
  properties: {
    issuer: str,
    algorithms: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: {
        enum: [
          'HS256',
          'HS384',
          'HS512',
          'RS256',
          'RS384',
          'RS512',
          'PS256',
          'PS384',
          'PS512',
          'ES256',
          'ES384',
          'ES512',
          'EdDSA',
        ],
      },
    },
    secret: str,
    secretFile: str,
    jwksUri: { type: 'string', pattern: '^https?://' },
    jwksFile: str,
    typ: str,
    tenants: strList,
  },
} as const;

const tool = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'input', 'roles', 'module'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,128}$' },
    title: str,
    description: { type: 'string', minLength: 1, maxLength: 4096 },
    input: { type: 'object' },
    output: { type: 'object' },
    roles: { type: 'array', minItems: 1, items: str },
    scopes: strList,
    tenantArg: str,
    destructive: { type: 'boolean' },
    readOnly: { type: 'boolean' },
    timeoutMs: posInt,
    clientCapabilities: { type: 'array', items: { enum: ['sampling', 'elicitation', 'roots'] } },
    rateLimit: rate,
    globalRateLimit: rate,
    module: {
      type: 'object',
      additionalProperties: false,
      properties: { builtin: str, file: str, export: str },
      oneOf: [{ required: ['builtin'] }, { required: ['file'] }],
    },
  },
} as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['auth'],
  properties: {
    dataDir: str,
    server: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: str,
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        publicUrl: { type: 'string', pattern: '^https?://[^/?#]+$' },
        allowedHosts: strList,
        allowedOrigins: strList,
        bodyLimitBytes: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024 },
        maxJsonDepth: { type: 'integer', minimum: 4, maximum: 256 },
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['cert', 'key'],
          properties: { cert: str, key: str, minVersion: { enum: ['TLSv1.2', 'TLSv1.3'] } },
        },
        trustedProxies: strList,
        dangerouslyAllowInsecureHttp: { type: 'boolean' },
        requestTimeoutMs: posInt,
        headersTimeoutMs: { type: 'integer', minimum: 1000, maximum: 60_000 },
        keepAliveTimeoutMs: posInt,
      },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      required: ['issuers'],
      properties: {
        issuers: { type: 'array', minItems: 1, items: issuer },
        audiences: strList,
        strictAudience: { type: 'boolean' },
        clockToleranceSec: { type: 'integer', minimum: 0, maximum: 60 },
        maxTokenAgeSec: posInt,
        maxTokenBytes: { type: 'integer', minimum: 512, maximum: 14 * 1024 },
        claims: {
          type: 'object',
          additionalProperties: false,
          properties: { user: str, tenant: str, roles: str, scopes: str },
        },
        roles: strList,
        authorizationServers: strList,
        scopesSupported: strList,
        tokenCacheSize: nonNegInt,
      },
    },
    sessions: {
      type: 'object',
      additionalProperties: false,
      properties: {
        idleTimeoutSec: posInt,
        absoluteTimeoutSec: posInt,
        maxPerPrincipal: posInt,
        maxTotal: posInt,
        maxStreamsPerSession: posInt,
      },
    },
    tools: { type: 'array', items: tool },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        perIp: rate,
        perPrincipal: rate,
        perTenant: rate,
        perTool: rate,
        perPrincipalTool: rate,
        notificationsPerPrincipal: rate,
        concurrentPerPrincipal: posInt,
        concurrentPerSession: posInt,
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        sqlite: {
          oneOf: [
            { type: 'boolean', const: false },
            { type: 'object', additionalProperties: false, properties: { path: str } },
          ],
        },
        jsonl: { type: 'object', additionalProperties: false, required: ['path'], properties: { path: str } },
        failMode: { enum: ['closed', 'openForReadOnly'] },
        redactKeys: strList,
        batchMaxEvents: posInt,
        batchMaxDelayMs: nonNegInt,
        instance: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' },
      },
    },
    observability: {
      type: 'object',
      additionalProperties: false,
      properties: {
        metrics: { type: 'boolean' },
        admin: {
          type: 'object',
          additionalProperties: false,
          required: ['port'],
          properties: { host: str, port: { type: 'integer', minimum: 0, maximum: 65535 } },
        },
      },
    },
    demo: {
      type: 'object',
      additionalProperties: false,
      properties: { database: str, fixtures: { type: 'boolean' } },
    },
    logging: {
      type: 'object',
      additionalProperties: false,
      properties: { level: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] } },
    },
  },
} as const;
