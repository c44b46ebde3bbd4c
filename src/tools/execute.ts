/**
 * Runs one authorized tool call: tenant binding → argument validation → confirmation →
 * handler under a timeout → result checks. Denials and failures become `isError` results
 * (RC-17) with a safe message and the correlation id; the reason is kept for the audit.
 */
import type { Principal } from '../auth/principal.js';
import { bindTenant } from '../policy/tenant.js';
import { confirmationMessage } from '../policy/confirm.js';
import type { ConfirmChannel, ConfirmationStrategy, ConfirmedBy, InputRequired } from '../policy/confirm.js';
import type { CompiledTool } from './catalog.js';
import type { Cancellation } from '../protocol/cancellation.js';
import { FAILURE_REASON } from './types.js';
import type { LogLevel, ToolContext, ToolResult } from './types.js';

export type CallOutcome = {
  result: ToolResult;
  outcome: 'ok' | 'error' | 'denied';
  /** Internal reason for the audit/log; never sent to the client. */
  reason?: string;
  /** 2026-07-28: the user must be asked first; the answer is this `InputRequiredResult` (the tool did not run). */
  inputRequired?: InputRequired;
};

export interface CallContext {
  principal: Principal;
  requestId: string;
  cancellation: Cancellation;
  confirmation: ConfirmationStrategy;
  /** How a destructive call can reach the user (default: it cannot; `confirm: true` is needed). */
  confirmChannel?: ConfirmChannel;
  /**
   * Last gate before the handler runs (the audit intent); false refuses the call. `confirmedBy`
   * says who confirmed a destructive call (SEC-AZ-07): the model (`confirm: true`) or the user.
   */
  beforeRun?: (confirmedBy?: ConfirmedBy) => Promise<boolean>;
  log: (level: LogLevel, data: unknown) => void;
  progress: (progress: number, total?: number, message?: string) => void;
  onError: (err: unknown) => void;
}

const errorResult = (text: string): ToolResult => ({ content: [{ type: 'text', text }], isError: true });

export async function executeTool(
  tool: CompiledTool,
  rawArgs: Record<string, unknown>,
  ctx: CallContext,
): Promise<CallOutcome> {
  const ref = `(ref ${ctx.requestId})`;
  const bound = bindTenant(rawArgs, tool.config.tenantArg, ctx.principal);
  if (!bound.ok) {
    return {
      result: errorResult(`Access denied: '${tool.config.tenantArg ?? ''}' must be your own tenant ${ref}`),
      outcome: 'denied',
      reason: bound.reason,
    };
  }
  const invalid = tool.validate(bound.args);
  if (invalid !== undefined) {
    return {
      result: errorResult(`Invalid arguments: ${invalid} ${ref}`),
      outcome: 'error',
      reason: 'invalid_arguments',
    };
  }
  let confirmedBy: ConfirmedBy | undefined;
  if (tool.config.destructive) {
    const c = await ctx.confirmation.confirm(tool.config.name, bound.args, {
      principal: ctx.principal,
      shownArgs: tool.redact(bound.args),
      channel: ctx.confirmChannel ?? { kind: 'none' },
    });
    if (!c.ok) {
      if (c.reason === 'input_required') {
        const text = `'${tool.config.name}' waits for the user's confirmation ${ref}`;
        return {
          result: errorResult(text),
          outcome: 'denied',
          reason: 'confirmation_requested',
          inputRequired: c.inputRequired,
        };
      }
      return {
        result: errorResult(`${confirmationMessage(c.reason, tool.config.name)} ${ref}`),
        outcome: 'denied',
        reason: c.reason,
      };
    }
    confirmedBy = c.assertedBy;
  }

  if (ctx.beforeRun && !(await ctx.beforeRun(confirmedBy))) {
    return { result: errorResult(`The call was not run ${ref}`), outcome: 'denied', reason: 'audit_unavailable' };
  }

  let result: ToolResult;
  try {
    result = await runHandler(tool, bound.args, ctx);
  } catch (err) {
    if (err instanceof CallAborted) {
      const text = err.reason === 'timeout' ? `The tool timed out ${ref}` : `The call was cancelled ${ref}`;
      return { result: errorResult(text), outcome: 'error', reason: err.reason };
    }
    ctx.onError(err);
    return { result: errorResult(`The tool failed ${ref}`), outcome: 'error', reason: 'handler_threw' };
  }
  if (!isToolResult(result)) {
    ctx.onError(new Error(`tool ${tool.config.name} returned a malformed result`));
    return { result: errorResult(`The tool failed ${ref}`), outcome: 'error', reason: 'malformed_result' };
  }
  if (tool.validateOutput && !result.isError) {
    if (result.structuredContent === undefined || tool.validateOutput(result.structuredContent) !== undefined) {
      ctx.onError(
        new Error(`tool ${tool.config.name} returned structured content that does not match its output schema`),
      );
      return { result: errorResult(`The tool failed ${ref}`), outcome: 'error', reason: 'output_schema_mismatch' };
    }
  }
  const reason = result.isError ? result[FAILURE_REASON] : undefined;
  return { result, outcome: result.isError ? 'error' : 'ok', ...(reason !== undefined && { reason }) };
}

class CallAborted extends Error {
  constructor(readonly reason: 'timeout' | 'cancelled') {
    super(reason);
  }
}

/**
 * Runs the handler under the tool's timeout and the caller's cancellation. The handler's
 * AbortSignal is created only if it reads `ctx.signal`; either way the timer and the
 * cancellation listener are undone when the call settles.
 */
/**
 * What a handler sees. A class, so `signal` is a getter on the prototype: an object literal with a
 * getter per call makes V8 promote each request's objects (see protocol/cancellation.ts).
 */
class HandlerContext implements ToolContext {
  readonly principal: Principal;
  readonly requestId: string;
  readonly log: ToolContext['log'];
  readonly progress: ToolContext['progress'];
  #controller: AbortController | undefined;

  constructor(ctx: CallContext) {
    this.principal = ctx.principal;
    this.requestId = ctx.requestId;
    this.log = ctx.log;
    this.progress = ctx.progress;
  }

  /** Created only if the handler reads it. */
  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  abort(reason: Error): void {
    this.#controller?.abort(reason);
  }
}

function runHandler(tool: CompiledTool, args: Record<string, unknown>, ctx: CallContext): Promise<ToolResult> {
  const handlerCtx = new HandlerContext(ctx);
  return new Promise<ToolResult>((resolve, reject) => {
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      offCancel();
      return true;
    };
    const abort = (reason: 'timeout' | 'cancelled'): void => {
      if (!settle()) return;
      handlerCtx.abort(new Error(reason === 'timeout' ? 'tool timed out' : 'call cancelled'));
      reject(new CallAborted(reason));
    };
    const timer = setTimeout(() => abort('timeout'), tool.config.timeoutMs);
    const offCancel = ctx.cancellation.onCancel(() => abort('cancelled'));
    if (ctx.cancellation.cancelled) return abort('cancelled');
    let work: Promise<ToolResult>;
    try {
      work = Promise.resolve(tool.handler(args, handlerCtx));
    } catch (err) {
      work = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    work.then(
      (v) => settle() && resolve(v),
      (e: unknown) => settle() && reject(e instanceof Error ? e : new Error(String(e))),
    );
  });
}

function isToolResult(r: unknown): r is ToolResult {
  return r !== null && typeof r === 'object' && Array.isArray((r as { content?: unknown }).content);
}
