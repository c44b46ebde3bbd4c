/**
 * `tools/call`, stage by stage: lookup → authorization (RC-16 / RC-4) → header and capability
 * checks (2026-07-28) → per-tool rate limits and the in-flight cap (RC-19) → audit readiness →
 * tenant binding, validation, confirmation and the handler (tools/execute.ts) → a durable audit
 * event before the answer leaves (group commit). A destructive tool's intent is durable before
 * it runs. When the audit trail cannot store events the call fails closed (SEC-AUD-05), except
 * read-only tools under `failMode: openForReadOnly`.
 */
import type { AuditInput, AuditTrail } from '../audit/types.js';
import type { AuditConfig } from '../config/types.js';
import type { Limiter } from '../limits/limiter.js';
import type { Metrics } from '../observability/metrics.js';
import { authorizeCall } from '../policy/authorize.js';
import { NO_CHANNEL, canElicitForm, modernChannel } from '../policy/confirm.js';
import type { ConfirmChannel, ConfirmationStrategy, ConfirmedBy } from '../policy/confirm.js';
import type { CompiledTool, ToolCatalog } from '../tools/catalog.js';
import { executeTool } from '../tools/execute.js';
import { LOG_LEVELS, RpcCode } from './constants.js';
import type { DispatchContext } from './dispatch.js';
import { principalFields } from './events.js';
import type { JsonRpcRequest } from './jsonrpc.js';
import { rpcError } from './messages.js';
import type { Outcome } from './messages.js';
import { paramHeadersMatch } from './paramHeaders.js';

export interface ToolCallDeps {
  catalog: ToolCatalog;
  confirmation: ConfirmationStrategy;
  limiter: Limiter;
  audit: AuditTrail;
  auditFailMode: AuditConfig['failMode'];
  metrics: Metrics;
  /** Scope challenge for RC-4 (`insufficient_scope`). */
  scopeChallenge(scopes: readonly string[]): string;
  onError(ctx: DispatchContext, err: unknown): void;
}

const UNKNOWN_TOOL = 'Unknown tool';
const NONE: readonly string[] = [];

export function createToolCall(deps: ToolCallDeps): (msg: JsonRpcRequest, ctx: DispatchContext) => Promise<Outcome> {
  const { catalog, audit, metrics } = deps;

  const event = (ctx: DispatchContext, fields: Partial<AuditInput> & Pick<AuditInput, 'event'>): AuditInput => ({
    requestId: ctx.requestId,
    ...(ctx.session && { sessionId: ctx.session.id }),
    ip: ctx.ip,
    transport: ctx.era,
    method: 'tools/call',
    ...principalFields(ctx.principal),
    ...fields,
  });

  const deny = (ctx: DispatchContext, tool: string, reason: string, answer: Outcome): Outcome => {
    metrics.toolCall(catalog.get(tool) ? tool : '(unknown)', 'denied', 0);
    audit.record(event(ctx, { event: 'tool.denied', tool: tool.slice(0, 128), outcome: 'denied', reason }));
    return answer;
  };

  const auditUnavailable = (ctx: DispatchContext, ran: boolean): Outcome => ({
    kind: 'error',
    error: {
      code: RpcCode.ServerError,
      message: ran
        ? `Audit trail unavailable; the call ran but its result is withheld because it could not be recorded (ref ${ctx.requestId})`
        : `Audit trail unavailable; the call was not run (ref ${ctx.requestId})`,
    },
    status: 503,
    headers: { 'retry-after': '5' },
  });

  /** May the call run? When the trail is unhealthy, a durable probe event decides (and lets it recover). */
  async function auditReady(
    ctx: DispatchContext,
    tool: CompiledTool,
    args: unknown,
    confirmedBy: ConfirmedBy | undefined,
  ): Promise<boolean> {
    const mustCommitIntent = tool.config.destructive || !audit.healthy();
    if (!mustCommitIntent) return true;
    try {
      await audit.commit(
        event(ctx, {
          event: 'tool.intent',
          tool: tool.config.name,
          arguments: tool.redact(args),
          ...(confirmedBy !== undefined && { reason: confirmedReason(confirmedBy) }),
        }),
      );
      return true;
    } catch {
      return deps.auditFailMode === 'openForReadOnly' && tool.config.readOnly;
    }
  }

  return async function callTool(msg, ctx) {
    const params = msg.params ?? {};
    const name = params.name;
    const args = params.arguments ?? {};
    const tool = catalog.get(name);
    // RC-16: unknown, hidden and malformed are one answer, so nothing reveals a tool exists.
    if (!tool || args === null || typeof args !== 'object' || Array.isArray(args)) {
      const reason = tool ? 'bad_arguments_type' : 'unknown_tool';
      return deny(ctx, typeof name === 'string' ? name : '', reason, rpcError(RpcCode.InvalidParams, UNKNOWN_TOOL));
    }
    const toolName = tool.config.name;
    const decision = authorizeCall(ctx.principal, tool.config);
    if (!decision.ok) {
      if (decision.reason === 'insufficient_scope') {
        return deny(ctx, toolName, decision.reason, {
          kind: 'error',
          error: { code: RpcCode.ServerError, message: 'Insufficient scope' },
          status: 403,
          headers: { 'www-authenticate': deps.scopeChallenge(decision.scopes) },
        });
      }
      return deny(ctx, toolName, decision.reason, rpcError(RpcCode.InvalidParams, UNKNOWN_TOOL));
    }
    const argObject = args as Record<string, unknown>;
    if (ctx.header && !paramHeadersMatch(tool.paramHeaders, argObject, ctx.header)) {
      return deny(
        ctx,
        toolName,
        'param_header_mismatch',
        rpcError(RpcCode.HeaderMismatch, 'Header mismatch: Mcp-Param', undefined, 400),
      );
    }
    const needed = tool.config.clientCapabilities;
    const missing = needed?.length ? needed.filter((c) => ctx.clientCapabilities[c] === undefined) : NONE;
    if (missing.length > 0) {
      const required = Object.fromEntries(missing.map((c) => [c, {}]));
      return deny(
        ctx,
        toolName,
        'missing_client_capability',
        rpcError(
          RpcCode.MissingRequiredClientCapability,
          `This tool requires the client capabilities: ${missing.join(', ')}`,
          { requiredCapabilities: required },
          400,
        ),
      );
    }
    const limit = await deps.limiter.tool(ctx.principal, tool.config);
    if (!limit.ok) {
      metrics.rateLimited(limit.scope);
      return deny(ctx, toolName, `rate_limited_${limit.scope}`, rateLimitedAnswer(limit.retryAfterSec));
    }
    const release = deps.limiter.acquire(ctx.principal, ctx.session?.id);
    if (!release) {
      metrics.rateLimited('concurrency');
      return deny(ctx, toolName, 'rate_limited_concurrency', rateLimitedAnswer(1));
    }
    try {
      return await run(msg, ctx, tool, argObject);
    } finally {
      release();
    }
  };

  async function run(
    msg: JsonRpcRequest,
    ctx: DispatchContext,
    tool: CompiledTool,
    args: Record<string, unknown>,
  ): Promise<Outcome> {
    const started = performance.now();
    const progressToken = readProgressToken(msg.params ?? {});
    const threshold = ctx.logLevel === undefined ? -1 : LOG_LEVELS.indexOf(ctx.logLevel);
    const name = tool.config.name;
    let confirmedBy: ConfirmedBy | undefined;
    const outcome = await executeTool(tool, args, {
      principal: ctx.principal,
      requestId: ctx.requestId,
      cancellation: ctx.cancellation,
      confirmation: deps.confirmation,
      ...(tool.config.destructive && { confirmChannel: confirmChannel(msg, ctx) }),
      beforeRun: (by) => {
        confirmedBy = by;
        return auditReady(ctx, tool, args, by);
      },
      log(level, data) {
        if (threshold >= 0 && LOG_LEVELS.indexOf(level) >= threshold) {
          ctx.notify('notifications/message', { level, logger: name, data });
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
    if (outcome.reason === 'audit_unavailable') {
      metrics.toolCall(name, 'denied', 0);
      return auditUnavailable(ctx, false);
    }
    const latencyMs = performance.now() - started;
    metrics.toolCall(name, outcome.outcome, latencyMs / 1000);
    // Who confirmed a destructive call that ran goes with its outcome (`handler_threw;confirmed_by_user`).
    const reason = [outcome.reason, confirmedBy && confirmedReason(confirmedBy)].filter(Boolean).join(';');
    const called = event(ctx, {
      event: 'tool.called',
      tool: name,
      arguments: tool.redact(args),
      outcome: outcome.outcome,
      ...(reason !== '' && { reason }),
      latencyMs: Math.round(latencyMs * 1000) / 1000,
    });
    try {
      // The answer leaves only once its audit event is durable (SEC-AUD-05).
      await audit.commit(called);
    } catch (err) {
      deps.onError(ctx, err);
      if (!(deps.auditFailMode === 'openForReadOnly' && tool.config.readOnly)) return auditUnavailable(ctx, true);
    }
    if (outcome.inputRequired) {
      // 2026-07-28 MRTR: the user is asked through the client; the retry carries the answer.
      return { kind: 'result', result: { resultType: 'input_required', ...outcome.inputRequired } };
    }
    return {
      kind: 'result',
      result: ctx.era === 'modern' ? { resultType: 'complete', ...outcome.result } : { ...outcome.result },
    };
  }
}

/**
 * How a destructive call can reach its user: 2026-07-28 through `InputRequiredResult` and the
 * retry's `requestState`; a session through `elicitation/create` on the call's stream, when the
 * client declared form elicitation at `initialize`; otherwise not at all (`confirm: true`).
 */
function confirmChannel(msg: JsonRpcRequest, ctx: DispatchContext): ConfirmChannel {
  if (ctx.era === 'modern') return modernChannel(msg.params ?? {}, ctx.clientCapabilities);
  const ask = ctx.askClient;
  if (!ask || !canElicitForm(ctx.clientCapabilities)) return NO_CHANNEL;
  return { kind: 'elicit', withMode: ctx.protocolVersion >= '2025-11-25', ask };
}

const confirmedReason = (by: ConfirmedBy): string => `confirmed_by_${by}`;

function rateLimitedAnswer(retryAfterSec: number): Outcome {
  return {
    kind: 'error',
    error: { code: RpcCode.ServerError, message: 'Rate limit exceeded' },
    status: 429,
    headers: { 'retry-after': String(retryAfterSec) },
  };
}

function readProgressToken(params: Record<string, unknown>): string | number | undefined {
  const meta = params._meta;
  if (meta === null || typeof meta !== 'object') return undefined;
  const t = (meta as Record<string, unknown>).progressToken;
  return typeof t === 'string' || (typeof t === 'number' && Number.isSafeInteger(t)) ? t : undefined;
}
