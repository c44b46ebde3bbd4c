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
import { buildChallenge } from './auth/challenge.js';
import { buildIssuerTable } from './auth/keys.js';
import { protectedResourceMetadata, resourceMetadataUrl } from './auth/metadata.js';
import { createVerifier } from './auth/verify.js';
import type { GatewayConfig, ToolConfig } from './config/types.js';
import { fixtureTools } from './demo/fixtures.js';
import { openDemoDatabase } from './demo/db.js';
import { createDemoHandlers } from './demo/tools.js';
import { ErrorCodes, PortcullisError } from './errors.js';
import { createEdgePolicy } from './http/edge.js';
import { createRequestHandler } from './http/pipeline.js';
import { createLogger } from './observability/log.js';
import { confirmFlagStrategy } from './policy/confirm.js';
import { createDispatcher } from './protocol/dispatch.js';
import { DEFAULT_LIMITS } from './protocol/jsonrpc.js';
import { SessionRegistry } from './session/registry.js';
import { buildCatalog } from './tools/catalog.js';
import type { ToolCatalog } from './tools/catalog.js';
import type { ToolHandler } from './tools/types.js';
import { VERSION } from './version.js';

export interface GatewayOptions {
  logger?: Logger;
  /** Clock for token checks and session expiry (tests). */
  now?: () => number;
}

export interface Gateway {
  readonly config: GatewayConfig;
  readonly catalog: ToolCatalog;
  readonly sessions: SessionRegistry;
  /** Starts listening; resolves with the base URL actually bound (port 0 picks a free one). */
  listen(): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
}

export async function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const log = options.logger ?? createLogger(config.logging.level);
  const issuers = buildIssuerTable(config.auth.issuers);
  const verifier = createVerifier({ auth: config.auth, issuers, ...(options.now && { now: options.now }) });

  const builtins = new Map<string, ToolHandler>();
  const closers: (() => void)[] = [];
  const extra: { config: ToolConfig; handler: ToolHandler }[] = [];
  if (config.demo) {
    const db = openDemoDatabase(config.demo.database);
    closers.push(() => db.close());
    for (const [name, h] of createDemoHandlers(db)) builtins.set(name, h);
    if (config.demo.fixtures) {
      const roles = config.auth.roles.length > 0 ? config.auth.roles : ['user', 'admin'];
      extra.push(...fixtureTools(roles));
    }
  }
  let catalog: ToolCatalog;
  try {
    catalog = await buildCatalog(config, builtins, extra);
  } catch (err) {
    for (const close of closers) close();
    throw err;
  }

  const prmUrl = resourceMetadataUrl(config);
  const sessions = new SessionRegistry({
    config: config.sessions,
    ...(options.now && { now: options.now }),
    onClose: (s, why) => log.debug({ event: 'session.closed', era: s.era, why }, 'session closed'),
  });
  const dispatch = createDispatcher({
    catalog,
    confirmation: confirmFlagStrategy,
    serverInfo: { name: 'portcullis', version: VERSION },
    instructions: 'Portcullis gateway: the tools listed are the ones your identity may use.',
    scopeChallenge: (scopes) => buildChallenge('insufficient_scope', { resourceMetadataUrl: prmUrl, scopes }),
    onToolCall: (ctx, tool, outcome) =>
      log.debug(
        { requestId: ctx.requestId, event: 'tool.called', tool, outcome: outcome.outcome, reason: outcome.reason },
        'tool call',
      ),
    onError: (ctx, err) => log.error({ requestId: ctx.requestId, err }, 'tool failed'),
  });
  const handler = createRequestHandler({
    transport: {
      registry: sessions,
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
    tls: config.server.tls !== undefined,
  });

  const server: Server = config.server.tls
    ? createHttpsServer(
        {
          ...loadTls(config.server.tls.cert, config.server.tls.key),
          minVersion: config.server.tls.minVersion,
        },
        handler,
      )
    : createHttpServer(handler);
  server.requestTimeout = config.server.requestTimeoutMs;
  server.headersTimeout = config.server.headersTimeoutMs;
  server.keepAliveTimeout = config.server.keepAliveTimeoutMs;

  let closed = false;
  return {
    config,
    catalog,
    sessions,
    listen: () =>
      new Promise((resolve, reject) => {
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
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      sessions.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      for (const close of closers) close();
    },
  };
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
