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

const headerName = { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$" } as const;

/** A tool's REST call (tools/http): method, path template and the argument mapping. */
const httpBackend = {
  type: 'object',
  additionalProperties: false,
  required: ['upstream', 'method', 'path'],
  properties: {
    upstream: str,
    method: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] },
    path: { type: 'string', pattern: '^/', maxLength: 2048 },
    query: { type: 'object', additionalProperties: str },
    headers: { type: 'object', propertyNames: headerName, additionalProperties: str },
    body: {
      type: 'object',
      additionalProperties: false,
      properties: { args: { type: 'array', minItems: 1, uniqueItems: true, items: str }, arg: str },
      oneOf: [{ required: ['args'] }, { required: ['arg'] }],
    },
    tenant: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      properties: { query: str, header: headerName, body: str, path: str },
    },
    successStatus: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'integer', minimum: 200, maximum: 299 },
    },
  },
} as const;

/** A REST upstream of `http` tools: fixed origin and path prefix, egress limits, credential. */
const upstream = {
  type: 'object',
  additionalProperties: false,
  required: ['baseUrl'],
  properties: {
    baseUrl: { type: 'string', pattern: '^https?://', maxLength: 2048 },
    allowPrivateNetwork: { type: 'boolean' },
    allowInsecureHttp: { type: 'boolean' },
    connectTimeoutMs: posInt,
    timeoutMs: posInt,
    maxResponseBytes: { type: 'integer', minimum: 1, maximum: 256 * 1024 * 1024 },
    maxConcurrent: { type: 'integer', minimum: 1, maximum: 4096 },
    circuitBreaker: {
      type: 'object',
      additionalProperties: false,
      properties: { failures: { type: 'integer', minimum: 1, maximum: 1000 }, cooldownMs: posInt },
    },
    identityHeaders: { type: 'boolean' },
    headers: { type: 'object', propertyNames: headerName, additionalProperties: { type: 'string' } },
    caFile: str,
    auth: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      properties: {
        gatewayJwt: {
          type: 'object',
          additionalProperties: false,
          properties: { audience: str, ttlSec: { type: 'integer', minimum: 5, maximum: 3600 } },
        },
        apiKey: {
          type: 'object',
          additionalProperties: false,
          required: ['header', 'value'],
          properties: { header: headerName, value: str },
        },
        oauthClientCredentials: {
          type: 'object',
          additionalProperties: false,
          required: ['tokenUrl', 'clientId', 'clientSecret'],
          properties: {
            tokenUrl: { type: 'string', pattern: '^https?://' },
            clientId: str,
            clientSecret: str,
            scope: str,
            audience: str,
          },
        },
      },
    },
  },
} as const;

const tool = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'input', 'roles'],
  // Exactly one backend: in-process `module`, REST `http` or federated `mcp`.
  oneOf: [{ required: ['module'] }, { required: ['http'] }, { required: ['mcp'] }],
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
    http: httpBackend,
    mcp: {
      type: 'object',
      additionalProperties: false,
      required: ['upstream', 'tool'],
      properties: {
        upstream: str,
        tool: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,128}$' },
        pin: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
      },
    },
  },
} as const;

const operationSelector = {
  type: 'object',
  additionalProperties: false,
  properties: { tags: strList, paths: strList, operations: strList },
} as const;

/** An OpenAPI description whose operations become `http` tools at load time (tools/openapi). */
const openapiEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['spec', 'upstream'],
  properties: {
    spec: str,
    upstream: str,
    roles: { type: 'array', minItems: 1, items: str },
    roleMap: { type: 'object', additionalProperties: { type: 'array', minItems: 1, items: str } },
    prefix: { type: 'string', pattern: '^[A-Za-z0-9_-]{0,64}$' },
    include: operationSelector,
    exclude: operationSelector,
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
        denylist: {
          type: 'object',
          additionalProperties: false,
          required: ['file'],
          properties: { file: str, reloadSec: { type: 'integer', minimum: 1, maximum: 3600 } },
        },
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
    upstreams: {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z0-9_-]{1,64}$' },
      additionalProperties: upstream,
    },
    upstreamSigning: {
      type: 'object',
      additionalProperties: false,
      properties: { keyFile: str, algorithm: { enum: ['ES256', 'EdDSA', 'RS256'] }, issuer: str },
    },
    openapi: { type: 'array', items: openapiEntry },
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
        store: {
          oneOf: [
            { type: 'string', enum: ['memory'] },
            {
              type: 'object',
              additionalProperties: false,
              required: ['redis'],
              properties: {
                redis: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['url'],
                  properties: {
                    url: { type: 'string', pattern: '^rediss?://', maxLength: 2048 },
                    keyPrefix: { type: 'string', maxLength: 256 },
                    timeoutMs: { type: 'integer', minimum: 1, maximum: 60_000 },
                    expectedReplicas: { type: 'integer', minimum: 1, maximum: 1000 },
                  },
                },
              },
            },
          ],
        },
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        sqlite: {
          oneOf: [
            { type: 'boolean', const: false },
            {
              type: 'object',
              additionalProperties: false,
              properties: { path: str, synchronous: { enum: ['full', 'normal'] } },
            },
          ],
        },
        jsonl: { type: 'object', additionalProperties: false, required: ['path'], properties: { path: str } },
        postgres: {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          properties: {
            url: { type: 'string', pattern: '^postgres(ql)?://', maxLength: 2048 },
            table: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,47}$' },
          },
        },
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
      properties: {
        database: str,
        fixtures: { type: 'boolean' },
        projectsApi: {
          type: 'object',
          additionalProperties: false,
          required: ['upstream'],
          properties: { upstream: str },
        },
      },
    },
    logging: {
      type: 'object',
      additionalProperties: false,
      properties: { level: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] } },
    },
  },
} as const;
