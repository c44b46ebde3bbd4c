/**
 * JSON-RPC method dispatch, shared by the three eras. Each handler receives a request already
 * authenticated, era-checked and bound to its session (if any), and returns an `Outcome`.
 * Policy decisions happen here on every call with the current request's principal (SEC-AZ-02).
 */
import type { Principal } from '../auth/principal.js';
import type { Session } from '../session/registry.js';
import type { ToolCatalog } from '../tools/catalog.js';
import { executeTool } from '../tools/execute.js';
import type { CallOutcome } from '../tools/execute.js';
import type { LogLevel } from '../tools/types.js';
import { authorizeCall } from '../policy/authorize.js';
import type { ConfirmationStrategy } from '../policy/confirm.js';
import { LOG_LEVELS, META, MODERN_VERSIONS, RpcCode, SESSION_VERSIONS, SSE_VERSION } from './constants.js';
import type { JsonRpcRequest } from './jsonrpc.js';
import { rpcError } from './messages.js';
import { paramHeadersMatch } from './paramHeaders.js';
import type { Outcome } from './messages.js';

export type EraName = 'modern' | 'streamable' | 'sse';

export interface DispatchContext {
  readonly era: EraName;
  readonly principal: Principal;
  readonly requestId: string;
  readonly protocolVersion: string;
  readonly clientCapabilities: Readonly<Record<string, unknown>>;
  /** 2026: the request's `_meta` log level; legacy: the session's level. */
  readonly logLevel: LogLevel | undefined;
  readonly session: Session | undefined;
  readonly signal: AbortSignal;
  /** 2026-07-28 only: the request's values of a header (for `Mcp-Param-*` checks). */
  readonly header?: (name: string) => string[] | undefined;
  /** Sends a notification related to this request (on its SSE stream). */
  notify(method: string, params: Record<string, unknown>): void;
}

export interface DispatcherDeps {
  catalog: ToolCatalog;
  confirmation: ConfirmationStrategy;
  serverInfo: { name: string; version: string };
  instructions: string;
  /** Scope challenge for RC-4 (`insufficient_scope`). */
  scopeChallenge(scopes: readonly string[]): string;
  onToolCall(ctx: DispatchContext, tool: string, outcome: CallOutcome | { outcome: 'denied'; reason: string }): void;
  onError(ctx: DispatchContext, err: unknown): void;
}

const CAPABILITIES = { tools: {}, logging: {} };
const UNKNOWN_TOOL = 'Unknown tool';

export type Dispatcher = (msg: JsonRpcRequest, ctx: DispatchContext) => Promise<Outcome>;

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { catalog } = deps;

  function modernResult(result: Record<string, unknown>, cacheable: boolean): Outcome {
    // 2026-07-28: every result carries resultType; list-like results carry caching hints. The
    // listing depends on the principal, so it is private to the authorization context.
    const r: Record<string, unknown> = { resultType: 'complete', ...result };
    if (cacheable) {
      r.ttlMs = 60_000;
      r.cacheScope = 'private';
    }
    return { kind: 'result', result: r };
  }

  const shape = (ctx: DispatchContext, result: Record<string, unknown>, cacheable = false): Outcome =>
    ctx.era === 'modern' ? modernResult(result, cacheable) : { kind: 'result', result };

  function notFound(ctx: DispatchContext, method: string): Outcome {
    // 2026-07-28 answers an unknown method with HTTP 404 (RC-15); 2025 in-band.
    return rpcError(
      RpcCode.MethodNotFound,
      `Method not found: ${method.slice(0, 64)}`,
      undefined,
      ctx.era === 'modern' ? 404 : undefined,
    );
  }

  async function callTool(msg: JsonRpcRequest, ctx: DispatchContext): Promise<Outcome> {
    const params = msg.params ?? {};
    const name = params.name;
    const args = params.arguments ?? {};
    const tool = catalog.get(name);
    // RC-16: unknown, hidden and malformed are one answer, so nothing reveals a tool exists.
    if (!tool || args === null || typeof args !== 'object' || Array.isArray(args)) {
      deps.onToolCall(ctx, typeof name === 'string' ? name : '', {
        outcome: 'denied',
        reason: tool ? 'bad_arguments_type' : 'unknown_tool',
      });
      return rpcError(RpcCode.InvalidParams, UNKNOWN_TOOL);
    }
    const decision = authorizeCall(ctx.principal, tool.config);
    if (!decision.ok) {
      deps.onToolCall(ctx, tool.config.name, { outcome: 'denied', reason: decision.reason });
      if (decision.reason === 'insufficient_scope') {
        return {
          kind: 'error',
          error: { code: RpcCode.ServerError, message: 'Insufficient scope' },
          status: 403,
          headers: { 'www-authenticate': deps.scopeChallenge(decision.scopes) },
        };
      }
      return rpcError(RpcCode.InvalidParams, UNKNOWN_TOOL);
    }
    if (ctx.header && !paramHeadersMatch(tool.paramHeaders, args as Record<string, unknown>, ctx.header)) {
      deps.onToolCall(ctx, tool.config.name, { outcome: 'denied', reason: 'param_header_mismatch' });
      return rpcError(RpcCode.HeaderMismatch, 'Header mismatch: Mcp-Param', undefined, 400);
    }
    const missing = (tool.config.clientCapabilities ?? []).filter((c) => ctx.clientCapabilities[c] === undefined);
    if (missing.length > 0) {
      deps.onToolCall(ctx, tool.config.name, { outcome: 'denied', reason: 'missing_client_capability' });
      const required = Object.fromEntries(missing.map((c) => [c, {}]));
      return rpcError(
        RpcCode.MissingRequiredClientCapability,
        `This tool requires the client capabilities: ${missing.join(', ')}`,
        { requiredCapabilities: required },
        400,
      );
    }
    const progressToken = readProgressToken(params);
    const threshold = ctx.logLevel === undefined ? -1 : LOG_LEVELS.indexOf(ctx.logLevel);
    const outcome = await executeTool(tool, args as Record<string, unknown>, {
      principal: ctx.principal,
      requestId: ctx.requestId,
      signal: ctx.signal,
      confirmation: deps.confirmation,
      log(level, data) {
        if (threshold >= 0 && LOG_LEVELS.indexOf(level) >= threshold) {
          ctx.notify('notifications/message', { level, logger: tool.config.name, data });
        }
      },
      progress(progress, total, message) {
        if (progressToken === undefined) return;
        ctx.notify('notifications/progress', {
          progressToken,
          progress,
          ...(total !== undefined && { total }),
          ...(message !== undefined && { message }),
        });
      },
      onError: (err) => deps.onError(ctx, err),
    });
    deps.onToolCall(ctx, tool.config.name, outcome);
    return shape(ctx, { ...outcome.result });
  }

  function initialize(msg: JsonRpcRequest, ctx: DispatchContext): Outcome {
    const requested = msg.params?.protocolVersion;
    let version: string;
    if (ctx.era === 'sse') {
      version =
        typeof requested === 'string' && [SSE_VERSION, ...SESSION_VERSIONS].includes(requested)
          ? requested
          : SSE_VERSION;
    } else {
      version =
        typeof requested === 'string' && SESSION_VERSIONS.includes(requested) ? requested : (SESSION_VERSIONS[0] ?? '');
    }
    if (ctx.session) {
      ctx.session.protocolVersion = version;
      const caps = msg.params?.capabilities;
      if (caps !== null && typeof caps === 'object' && !Array.isArray(caps))
        ctx.session.clientCapabilities = caps as Record<string, unknown>;
    }
    return {
      kind: 'result',
      result: {
        protocolVersion: version,
        capabilities: CAPABILITIES,
        serverInfo: deps.serverInfo,
        instructions: deps.instructions,
      },
    };
  }

  return async function dispatch(msg, ctx) {
    switch (msg.method) {
      case 'tools/call':
        return callTool(msg, ctx);
      case 'tools/list':
        if (msg.params?.cursor !== undefined) return rpcError(RpcCode.InvalidParams, 'Invalid cursor');
        return withRawTools(shape(ctx, {}, true), catalog.listingJson(ctx.principal));
      case 'server/discover':
        if (ctx.era !== 'modern') return notFound(ctx, msg.method);
        return {
          kind: 'result',
          result: {
            resultType: 'complete',
            supportedVersions: MODERN_VERSIONS,
            capabilities: CAPABILITIES,
            instructions: deps.instructions,
            ttlMs: 300_000,
            cacheScope: 'private',
            _meta: { [META.serverInfo]: deps.serverInfo },
          },
        };
      case 'initialize':
        if (ctx.era === 'modern') return notFound(ctx, msg.method);
        return initialize(msg, ctx);
      case 'ping':
        // Legacy results stay legacy-shaped: exactly {}.
        return ctx.era === 'modern' ? notFound(ctx, msg.method) : { kind: 'result', result: {} };
      case 'logging/setLevel': {
        if (ctx.era === 'modern') return notFound(ctx, msg.method);
        const level = msg.params?.level;
        if (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level)) {
          return rpcError(RpcCode.InvalidParams, 'Invalid log level');
        }
        if (ctx.session) ctx.session.logLevel = level as LogLevel;
        return { kind: 'result', result: {} };
      }
      default:
        return notFound(ctx, msg.method);
    }
  };
}

function withRawTools(outcome: Outcome, toolsJson: string): Outcome {
  return outcome.kind === 'result' ? { ...outcome, rawTools: toolsJson } : outcome;
}

function readProgressToken(params: Record<string, unknown>): string | number | undefined {
  const meta = params._meta;
  if (meta === null || typeof meta !== 'object') return undefined;
  const t = (meta as Record<string, unknown>).progressToken;
  return typeof t === 'string' || (typeof t === 'number' && Number.isSafeInteger(t)) ? t : undefined;
}
