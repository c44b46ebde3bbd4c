/**
 * The `http` tool backend: a ToolHandler that turns validated, tenant-bound arguments into one
 * upstream request. Only what the tool's `http:` block maps is sent — path variables, query
 * parameters, headers and body from named arguments, never the raw MCP request — and `confirm`
 * never is. The caller's tenant is written last (path, query, header or body), so no argument
 * can override it; the credential and identity headers come after every mapped header.
 */
import { request } from 'undici';
import type { HttpBackend, ToolConfig, UpstreamConfig } from '../../config/types.js';
import { ErrorCodes, PortcullisError } from '../../errors.js';
import { VERSION } from '../../version.js';
import type { ToolContext, ToolHandler, ToolResult } from '../types.js';
import { FAILURE_REASON } from '../types.js';
import { HEADER_VALUE } from './config.js';
import { isUpstreamFault } from './breaker.js';
import { identityHeaders } from './credentials.js';
import { failure, mapError, mapResponse } from './result.js';
import type { Egress } from './runtime.js';
import { buildUrl, parsePathTemplate } from './url.js';

const ACCEPT = 'application/json, text/plain;q=0.9, text/*;q=0.8';
const UNAVAILABLE = 'The upstream is unavailable; try again later';

/** Builds the handler of one `http` tool; throws on a definition the loader should have refused. */
export function createHttpHandler(tool: ToolConfig, upstream: UpstreamConfig, egress: Egress): ToolHandler {
  const b = tool.backend;
  if (b.kind !== 'http') throw new TypeError(`${tool.name} is not an http tool`);
  const runtime = egress.upstream(upstream.name);
  const template = parsePathTemplate(b.path);
  if (!runtime || !template.ok) {
    throw new PortcullisError(ErrorCodes.TOOL_LOAD, `tool ${tool.name}: bad http backend`, [
      !runtime ? `no egress for upstream '${upstream.name}'` : `path: ${template.ok ? '' : template.problem}`,
    ]);
  }
  const timeoutMs = Math.min(upstream.timeoutMs, tool.timeoutMs);
  const query = Object.entries(b.query);
  const mappedHeaders = Object.entries(b.headers);
  const tenant = b.tenant;

  return async (args: Record<string, unknown>, ctx: ToolContext): Promise<ToolResult> => {
    const { requestId, principal } = ctx;
    const invalid = (arg: string, reason: string): ToolResult =>
      failure(`Invalid arguments: '${arg}' cannot be sent upstream as given`, reason, requestId);

    const pathValues: Record<string, unknown> = {};
    for (const v of template.vars)
      pathValues[v] = tenant?.in === 'path' && tenant.name === v ? principal.tenant : args[v];
    const built = buildUrl(
      upstream,
      template,
      pathValues,
      query.map(([name, arg]) => [name, arg, args[arg]] as const),
      tenant?.in === 'query' ? [tenant.name, principal.tenant] : undefined,
    );
    if (!built.ok) return invalid(built.arg, built.reason);

    const headers: Record<string, string> = {
      accept: ACCEPT,
      'accept-encoding': 'identity',
      'user-agent': `portcullis/${VERSION}`,
      ...upstream.headers,
    };
    for (const [name, arg] of mappedHeaders) {
      const value = args[arg];
      if (value === undefined) continue;
      const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
      // U-15: no CR/LF/NUL (header injection) — refused as an argument error, never a crash.
      if (typeof text !== 'string' || !HEADER_VALUE.test(text)) return invalid(arg, 'bad_header_argument');
      headers[name] = text;
    }

    let body: string | undefined;
    if (b.body) {
      const payload = bodyOf(b.body, args);
      if (tenant?.in === 'body') {
        if (payload !== undefined && (payload === null || typeof payload !== 'object' || Array.isArray(payload))) {
          return invalid('arg' in b.body ? b.body.arg : tenant.name, 'bad_body_argument');
        }
        body = JSON.stringify({ ...(payload as Record<string, unknown> | undefined), [tenant.name]: principal.tenant });
      } else if (payload !== undefined) {
        body = JSON.stringify(payload);
      }
      if (body !== undefined) headers['content-type'] = 'application/json';
    }
    if (tenant?.in === 'header') headers[tenant.name.toLowerCase()] = principal.tenant;

    // D-14: an upstream that keeps failing is not called again until its cooldown is over.
    if (!runtime.breaker.allow()) {
      const open = failure(UNAVAILABLE, 'upstream_circuit_open', requestId);
      egress.onFailure({ upstream: upstream.name, tool: tool.name, requestId, reason: 'upstream_circuit_open' });
      return open;
    }
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([deadline, ctx.signal]);
    let result: ToolResult;
    let error: unknown;
    try {
      if (upstream.identityHeaders) Object.assign(headers, identityHeaders({ principal, requestId, signal }));
      Object.assign(headers, await runtime.credentials({ principal, requestId, signal }));
      const res = await request(built.url, {
        dispatcher: runtime.agent,
        method: b.method,
        headers,
        ...(body !== undefined && { body }),
        signal,
      });
      result = await mapResponse(res, {
        requestId,
        maxResponseBytes: upstream.maxResponseBytes,
        ...(b.successStatus && { successStatus: b.successStatus }),
        structured: tool.output !== undefined,
      });
    } catch (err) {
      error = err;
      result = mapError(err, deadline.aborted, requestId);
    }
    const reason = result.isError ? result[FAILURE_REASON] : undefined;
    runtime.breaker.record(ctx.signal.aborted && !deadline.aborted ? undefined : isUpstreamFault(reason));
    if (reason !== undefined) {
      egress.onFailure({
        upstream: upstream.name,
        tool: tool.name,
        requestId,
        reason,
        ...(error !== undefined && { err: error }),
      });
    }
    return result;
  };
}

/** The JSON body: an object of the listed arguments (those present), or one argument's value. */
function bodyOf(body: NonNullable<HttpBackend['body']>, args: Record<string, unknown>): unknown {
  if ('arg' in body) return args[body.arg];
  const out: Record<string, unknown> = {};
  for (const a of body.args) if (args[a] !== undefined) out[a] = args[a];
  return out;
}
