/**
 * JSON-RPC method dispatch, shared by the three eras. Each handler receives a request already
 * authenticated, era-checked and bound to its session (if any), and returns an `Outcome`.
 * Policy decisions happen here on every call with the current request's principal (SEC-AZ-02).
 */
import type { Principal } from '../auth/principal.js';
import type { ClientAnswer } from '../policy/confirm.js';
import type { Session } from '../session/registry.js';
import type { LogLevel } from '../tools/types.js';
import { LOG_LEVELS, META, MODERN_VERSIONS, RpcCode, SESSION_VERSIONS, SSE_VERSION } from './constants.js';
import type { JsonRpcRequest } from './jsonrpc.js';
import { rpcError } from './messages.js';
import { principalFields } from './events.js';
import type { Cancellation } from './cancellation.js';
import { createToolCall } from './toolCall.js';
import type { ToolCallDeps } from './toolCall.js';
import type { Outcome } from './messages.js';

export type EraName = 'modern' | 'streamable' | 'sse';

export interface DispatchContext {
  readonly era: EraName;
  readonly principal: Principal;
  readonly requestId: string;
  readonly ip: string;
  readonly protocolVersion: string;
  readonly clientCapabilities: Readonly<Record<string, unknown>>;
  /** 2026: the request's `_meta` log level; legacy: the session's level. */
  readonly logLevel: LogLevel | undefined;
  readonly session: Session | undefined;
  /** The caller went away (response closed early, session ended). */
  readonly cancellation: Cancellation;
  /** 2026-07-28 only: the request's values of a header (for `Mcp-Param-*` checks). */
  readonly header?: (name: string) => string[] | undefined;
  /** Sends a notification related to this request (on its SSE stream). */
  notify(method: string, params: Record<string, unknown>): void;
  /** Sessions only: sends a request to the client on this call's stream and waits for its answer. */
  readonly askClient?: (method: string, params: Record<string, unknown>, timeoutMs: number) => Promise<ClientAnswer>;
}

export interface DispatcherDeps extends ToolCallDeps {
  serverInfo: { name: string; version: string };
  instructions: string;
}

const CAPABILITIES = { tools: {}, logging: {} };

export type Dispatcher = (msg: JsonRpcRequest, ctx: DispatchContext) => Promise<Outcome>;

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { catalog } = deps;
  const callTool = createToolCall(deps);

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
        deps.audit.record({
          event: 'tools.listed',
          requestId: ctx.requestId,
          ...(ctx.session && { sessionId: ctx.session.id }),
          ip: ctx.ip,
          transport: ctx.era,
          method: 'tools/list',
          outcome: 'ok',
          ...principalFields(ctx.principal),
        });
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
