/**
 * Runs one authorized tool call: tenant binding → argument validation → confirmation →
 * handler under a timeout → result checks. Denials and failures become `isError` results
 * (RC-17) with a safe message and the correlation id; the reason is kept for the audit.
 */
import type { Principal } from '../auth/principal.js';
import { bindTenant } from '../policy/tenant.js';
import type { ConfirmationStrategy } from '../policy/confirm.js';
import type { CompiledTool } from './catalog.js';
import type { LogLevel, ToolResult } from './types.js';

export type CallOutcome = {
  result: ToolResult;
  outcome: 'ok' | 'error' | 'denied';
  /** Internal reason for the audit/log; never sent to the client. */
  reason?: string;
};

export interface CallContext {
  principal: Principal;
  requestId: string;
  signal: AbortSignal;
  confirmation: ConfirmationStrategy;
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
  if (tool.config.destructive) {
    const c = ctx.confirmation.confirm(tool.config.name, bound.args);
    if (!c.ok) {
      return {
        result: errorResult(
          `'${tool.config.name}' is destructive and needs explicit confirmation: ask the user, then call again with "confirm": true ${ref}`,
        ),
        outcome: 'denied',
        reason: c.reason,
      };
    }
  }

  // One controller per call, aborted by the timeout or by the caller's signal; both links are
  // undone when the call ends, so a long-lived caller signal (a 2024 SSE session) gathers nothing.
  const call = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    call.abort(new Error('tool timed out'));
  }, tool.config.timeoutMs);
  const onCallerAbort = (): void => call.abort(new Error('call cancelled'));
  if (ctx.signal.aborted) onCallerAbort();
  else ctx.signal.addEventListener('abort', onCallerAbort, { once: true });
  let result: ToolResult;
  try {
    result = await raceAbort(
      Promise.resolve(
        tool.handler(bound.args, {
          principal: ctx.principal,
          signal: call.signal,
          requestId: ctx.requestId,
          log: ctx.log,
          progress: ctx.progress,
        }),
      ),
      call.signal,
    );
  } catch (err) {
    if (timedOut) return { result: errorResult(`The tool timed out ${ref}`), outcome: 'error', reason: 'timeout' };
    if (ctx.signal.aborted)
      return { result: errorResult(`The call was cancelled ${ref}`), outcome: 'error', reason: 'cancelled' };
    ctx.onError(err);
    return { result: errorResult(`The tool failed ${ref}`), outcome: 'error', reason: 'handler_threw' };
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onCallerAbort);
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
  return { result, outcome: result.isError ? 'error' : 'ok' };
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function isToolResult(r: unknown): r is ToolResult {
  return r !== null && typeof r === 'object' && Array.isArray((r as { content?: unknown }).content);
}
