/**
 * Assembles a gateway from a validated config: keys, verifier, tool catalog, sessions,
 * dispatcher, pipeline, and the HTTP(S) server. Touches no process state (STYLE 11): the CLI
 * owns signals, exit codes and printing.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createAuditTrail } from './audit/trail.js';
import type { AuditTrail } from './audit/types.js';
import { buildChallenge } from './auth/challenge.js';
import { buildIssuerTable, keysLoaded, warmKeys } from './auth/keys.js';
import { protectedResourceMetadata, resourceMetadataUrl } from './auth/metadata.js';
import { createDenylist } from './auth/denylist.js';
import { createVerifier } from './auth/verify.js';
import type { GatewayConfig, ToolConfig } from './config/types.js';
import { echo } from './demo/echo.js';
import { fixtureTools } from './demo/fixtures.js';
import { openDemoDatabase } from './demo/db.js';
import { createDemoHandlers } from './demo/tools.js';
import { startDemoProjects } from './demo/projectsDemo.js';
import type { DemoProjects } from './demo/projectsDemo.js';
import { ErrorCodes, PortcullisError } from './errors.js';
import { createProxyTrust } from './http/clientIp.js';
import { checkEdge, createEdgePolicy } from './http/edge.js';
import { sendJson } from './http/respond.js';
import { DEFAULTS } from './config/defaults.js';
import { Limiter } from './limits/limiter.js';
import { createRateLimitStore } from './limits/create.js';
import { createAdminServer } from './observability/admin.js';
import { createHealth, handleHealthRoute } from './observability/health.js';
import type { HealthRoute } from './observability/health.js';
import { noMetrics } from './observability/metrics.js';
import type { Metrics } from './observability/metrics.js';
import { createPrometheusMetrics } from './observability/prometheus.js';
import { createRequestHandler } from './http/pipeline.js';
import { createLogger } from './observability/log.js';
import { createConfirmation } from './policy/confirm.js';
import { createDispatcher } from './protocol/dispatch.js';
import { DEFAULT_LIMITS } from './protocol/jsonrpc.js';
import { SessionRegistry } from './session/registry.js';
import { buildCatalog } from './tools/catalog.js';
import type { ToolCatalog } from './tools/catalog.js';
import { createEgress, loadOrCreateSigner } from './tools/http/index.js';
import type { Egress, UpstreamSigner } from './tools/http/index.js';
import { closeMcpUpstreams } from './tools/mcp/upstream.js';
import type { ToolHandler } from './tools/types.js';
import { VERSION } from './version.js';

/** How long a user has to answer a confirmation, and how long a 2026 `requestState` lives. */
const CONFIRMATION_TTL_MS = 5 * 60_000;

export interface GatewayOptions {
  logger?: Logger;
  /** An audit trail to use instead of the configured one (tests). */
  audit?: AuditTrail;
  /** Clock for token checks and session expiry (tests). */
  now?: () => number;
  /**
   * Assemble only, to validate (`portcullis check`): nothing is written or connected — the demo
   * database is in memory, a missing upstream-signing key is generated in memory, the demo
   * Projects API is not started, rate limits stay in memory. Pair it with an `audit` that stores nothing.
   */
  checkOnly?: boolean;
}

export interface Gateway {
  readonly config: GatewayConfig;
  readonly catalog: ToolCatalog;
  readonly sessions: SessionRegistry;
  readonly audit: AuditTrail;
  /** Starts listening; resolves with the base URL actually bound (port 0 picks a free one). */
  listen(): Promise<{ url: string; port: number; adminUrl?: string }>;
  close(): Promise<void>;
}

export async function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const log = options.logger ?? createLogger(config.logging.level);
  const issuers = buildIssuerTable(config.auth.issuers);
  const closers: (() => void)[] = [];
  const deny = config.auth.denylist;
  const denylist =
    deny &&
    createDenylist({
      ...deny,
      onReload: (entries) => log.info({ file: deny.file, entries }, 'denylist reloaded'),
      onError: (err) =>
        log.error({ file: deny.file, problems: err.problems }, 'denylist not reloaded; the previous list stays'),
    });
  if (denylist) closers.push(() => denylist.close());
  const verifier = createVerifier({
    auth: config.auth,
    issuers,
    ...(options.now && { now: options.now }),
    ...(denylist && { denylist }),
  });

  const builtins = new Map<string, ToolHandler>([['demo.echo', echo]]);
  const extra: { config: ToolConfig; handler: ToolHandler }[] = [];
  if (config.demo) {
    const db = openDemoDatabase(options.checkOnly ? ':memory:' : config.demo.database);
    closers.push(() => db.close());
    for (const [name, h] of createDemoHandlers(db)) builtins.set(name, h);
    if (config.demo.fixtures) {
      const roles = config.auth.roles.length > 0 ? config.auth.roles : ['user', 'admin'];
      extra.push(...fixtureTools(roles));
    }
  }
  let catalog: ToolCatalog;
  let upstreams: Upstreams | undefined;
  try {
    upstreams = await createUpstreams(config, log, options.checkOnly === true);
    catalog = await buildCatalog({ ...config, upstreams: upstreams.configs }, builtins, extra, upstreams.egress);
  } catch (err) {
    await upstreams?.close();
    for (const close of closers) close();
    throw err;
  }

  const metrics: Metrics = config.observability.metrics ? createPrometheusMetrics() : noMetrics;
  let audit: AuditTrail;
  try {
    audit = options.audit ?? (await createAuditTrail(config.audit, { logger: log, metrics }));
  } catch (err) {
    await upstreams.close();
    for (const close of closers) close();
    throw err;
  }
  audit.record({ event: 'config.loaded', reason: `${catalog.size} tools, ${config.auth.issuers.length} issuers` });

  const prmUrl = resourceMetadataUrl(config);
  const sessions = new SessionRegistry({
    config: config.sessions,
    ...(options.now && { now: options.now }),
    onClose: (s, why) => {
      metrics.sessionClosed(s.era);
      audit.record({ event: 'session.closed', sessionId: s.id, transport: s.era, reason: why });
    },
  });
  // SEC-RL-04: with Redis, one budget for every replica; while it is out of reach, local shares.
  const rates = await createRateLimitStore(options.checkOnly ? undefined : config.limits.store, {
    onStateChange: (state, err) => {
      metrics.rateLimitFallback(state === 'fallback');
      if (state === 'fallback') log.warn({ err }, 'rate-limit store unreachable: per-instance limits until it is back');
      else log.info('rate-limit store reachable again: shared limits');
    },
  });
  closers.push(() => void rates.store.close());
  const limiter = new Limiter(config.limits, rates.store, options.now);
  const dispatch = createDispatcher({
    catalog,
    // SEC-AZ-07: ask the user where the client can; requestState is sealed with a key of this process.
    confirmation: createConfirmation({
      ttlMs: CONFIRMATION_TTL_MS,
      ...(options.now && { now: options.now }),
    }),
    limiter,
    audit,
    auditFailMode: config.audit.failMode,
    metrics,
    serverInfo: { name: 'portcullis', version: VERSION },
    instructions: 'Portcullis gateway: the tools listed are the ones your identity may use.',
    scopeChallenge: (scopes) => buildChallenge('insufficient_scope', { resourceMetadataUrl: prmUrl, scopes }),
    onError: (ctx, err) => log.error({ requestId: ctx.requestId, err }, 'tool failed'),
  });
  const health = createHealth(
    {
      auditWritable: () => Promise.resolve(audit.healthy()),
      keysLoaded: () => keysLoaded(issuers),
      ...(config.limits.store?.kind === 'redis' && {
        rateLimitStore: () => (rates.state() === 'fallback' ? 'degraded' : 'ok'),
      }),
    },
    { onCheckError: (check, err) => log.warn({ check, err }, 'readiness check failed') },
  );
  // With an admin listener, /metrics and /readyz live there only; /healthz stays on both.
  const admin = config.observability.admin;
  const mainRoutes: HealthRoute[] = admin ? ['/healthz'] : ['/healthz', '/readyz', '/metrics'];
  const healthDeps = { health, ...(config.observability.metrics && { metrics }) };
  const mainHealthDeps = { ...healthDeps, routes: mainRoutes };
  // The admin listener checks Host too, so a DNS-rebinding page cannot read /metrics.
  const adminEdge = admin && createEdgePolicy([...DEFAULTS.loopbackHosts, admin.host], []);
  const adminServer =
    admin &&
    createAdminServer({
      host: admin.host,
      port: admin.port,
      handle: (path, req, res, requestId) => {
        if (adminEdge && !checkEdge(req, adminEdge).ok) {
          sendJson(res, 403, '{"error":"forbidden"}', requestId);
          return Promise.resolve(true);
        }
        return handleHealthRoute(path, req, res, healthDeps, requestId);
      },
      onError: (err, requestId) => log.error({ requestId, err }, 'admin request failed'),
    });
  const handler = createRequestHandler({
    limiter,
    proxyTrust: createProxyTrust(config.server.trustedProxies),
    audit,
    metrics,
    healthRoutes: (path, req, res, requestId) => handleHealthRoute(path, req, res, mainHealthDeps, requestId),
    transport: {
      registry: sessions,
      audit,
      metrics,
      dispatch,
      log,
      limits: { ...DEFAULT_LIMITS, maxDepth: config.server.maxJsonDepth },
      bodyLimitBytes: config.server.bodyLimitBytes,
      sseBufferLimitBytes: 4 * 1024 * 1024,
      keepAliveMs: 15_000,
    },
    edge: createEdgePolicy(config.server.allowedHosts, config.server.allowedOrigins),
    verifier,
    log,
    maxTokenBytes: config.auth.maxTokenBytes,
    resourceMetadataUrl: prmUrl,
    baselineScopes: config.auth.scopesSupported,
    protectedResourceMetadata: JSON.stringify(protectedResourceMetadata(config)),
    ...(upstreams.signer && { jwks: JSON.stringify(upstreams.signer.jwks) }),
    tls: config.server.tls !== undefined,
  });

  // Node enforces headersTimeout/requestTimeout only when it sweeps connections (every 30 s by
  // default), which would let a slowloris trickle live 30 s past its timeout (D-01, D-02).
  const connectionsCheckingInterval = Math.min(
    1000,
    Math.max(100, Math.min(config.server.headersTimeoutMs, config.server.requestTimeoutMs) / 4),
  );
  const server: Server = config.server.tls
    ? createHttpsServer(
        {
          ...loadTls(config.server.tls.cert, config.server.tls.key),
          minVersion: config.server.tls.minVersion,
          connectionsCheckingInterval,
        },
        handler,
      )
    : createHttpServer({ connectionsCheckingInterval }, handler);
  server.requestTimeout = config.server.requestTimeoutMs;
  server.headersTimeout = config.server.headersTimeoutMs;
  server.keepAliveTimeout = config.server.keepAliveTimeoutMs;

  let closed = false;
  return {
    config,
    catalog,
    sessions,
    audit,
    listen: async () => {
      void warmKeys(issuers, (issuer, err) => log.warn({ issuer, err }, 'cannot fetch the issuer JWKS yet'));
      const main = await listenMain();
      if (!adminServer) return main;
      const { url: adminUrl } = await adminServer.listen();
      return { ...main, adminUrl };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      sessions.closeAll();
      await Promise.all([
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
        adminServer?.close(),
      ]);
      await Promise.all([audit.close(), upstreams.close()]);
      for (const close of closers) close();
    },
  };

  function listenMain(): Promise<{ url: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(
          new PortcullisError(
            ErrorCodes.LISTEN,
            `cannot listen on ${config.server.host}:${config.server.port}: ${err.message}`,
            [],
            { cause: err },
          ),
        );
      server.once('error', onError);
      server.listen(config.server.port, config.server.host, () => {
        server.off('error', onError);
        const port = (server.address() as AddressInfo).port;
        const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
        resolve({ url: `${config.server.tls ? 'https' : 'http'}://${host}:${port}`, port });
      });
    });
  }
}

interface Upstreams {
  /** The configured upstreams, the demo's pointed at its actual address. */
  configs: GatewayConfig['upstreams'];
  egress?: Egress;
  signer?: UpstreamSigner;
  close(): Promise<void>;
}

/**
 * REST upstreams: the signing key (generated on first start) when an upstream takes the
 * gateway's JWT, the demo Projects API when the demo asks for it, and the shared egress of the
 * `http` tools. Nothing when no upstream is configured.
 */
async function createUpstreams(config: GatewayConfig, log: Logger, checkOnly: boolean): Promise<Upstreams> {
  const list = Object.values(config.upstreams);
  if (list.length === 0) return { configs: config.upstreams, close: () => Promise.resolve() };
  const signer = list.some((u) => u.auth?.kind === 'gatewayJwt')
    ? await loadOrCreateSigner(config.upstreamSigning, (message) => log.warn(message), { persist: !checkOnly })
    : undefined;
  let configs = config.upstreams;
  let demo: DemoProjects | undefined;
  const demoUpstream = config.demo?.projectsApi && config.upstreams[config.demo.projectsApi.upstream];
  if (config.demo && demoUpstream && signer && !checkOnly) {
    demo = await startDemoProjects(config, demoUpstream, signer, config.demo.database);
    configs = { ...configs, [demoUpstream.name]: demo.upstream };
  }
  try {
    const egress = createEgress({
      upstreams: configs,
      ...(signer && { signer }),
      claims: config.auth.claims,
      onFailure: ({ err, ...info }) => log.warn({ ...info, ...(err !== undefined && { err }) }, 'upstream call failed'),
    });
    return {
      configs,
      egress,
      ...(signer && { signer }),
      close: async () => {
        await closeMcpUpstreams(egress);
        await Promise.all([egress.close(), demo?.close()]);
      },
    };
  } catch (err) {
    await demo?.close();
    throw err;
  }
}

function loadTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  } catch (err) {
    throw new PortcullisError(ErrorCodes.TLS_LOAD, 'cannot read the TLS certificate or key', [String(err)], {
      cause: err,
    });
  }
}
