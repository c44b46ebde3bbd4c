/**
 * Upstream answers → MCP results. 2xx JSON becomes a text block with the JSON (plus
 * `structuredContent` when the tool declares an output schema and the body is an object); 2xx
 * text becomes text. Everything else — a non-success status, a redirect (never followed), a body
 * over the cap, an encoding the gateway does not decode, a network error, a timeout — becomes an
 * `isError` result with a fixed message and the correlation id (RC-17): never the upstream URL,
 * body, headers or an error message. The reason travels with the result for the audit only.
 */
import type { Dispatcher } from 'undici';
import { abandon, readCapped } from './body.js';
import { FAILURE_REASON } from '../types.js';
import type { ToolResult } from '../types.js';
import { CredentialUnavailable } from './credentials.js';
import { EgressRefused } from './egress.js';

export interface ResponseOptions {
  readonly requestId: string;
  readonly maxResponseBytes: number;
  /** Accepted statuses; default any 2xx. */
  readonly successStatus?: readonly number[];
  /** The tool declares an output schema: a JSON object body becomes `structuredContent`. */
  readonly structured: boolean;
}

/** An `isError` result; `reason` is kept for the audit, never serialised. */
export function failure(text: string, reason: string, requestId: string): ToolResult {
  const result: ToolResult = { content: [{ type: 'text', text: `${text} (ref ${requestId})` }], isError: true };
  Object.defineProperty(result, FAILURE_REASON, { value: reason, enumerable: false });
  return result;
}

const FAILED = 'The upstream request failed';
const TIMED_OUT = 'The upstream request timed out';

export async function mapResponse(res: Dispatcher.ResponseData, opts: ResponseOptions): Promise<ToolResult> {
  const { statusCode: status, headers } = res;
  const ok = opts.successStatus ? opts.successStatus.includes(status) : status >= 200 && status < 300;
  if (status >= 300 && status < 400) return discard(res, FAILED, 'upstream_redirect', opts.requestId);
  if (!ok) return discard(res, FAILED, `upstream_status_${status}`, opts.requestId);
  const encoding = header(headers['content-encoding']);
  // The gateway asks for identity; a compressed body would need decoding, with its own bomb risk (D-17).
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    return discard(res, FAILED, 'upstream_bad_encoding', opts.requestId);
  }
  const declared = Number(header(headers['content-length']));
  if (Number.isFinite(declared) && declared > opts.maxResponseBytes) {
    return discard(res, FAILED, 'upstream_too_large', opts.requestId);
  }
  const body = await readCapped(res.body, opts.maxResponseBytes);
  if (body === undefined) return failure(FAILED, 'upstream_too_large', opts.requestId);
  if (body.length === 0) return { content: [{ type: 'text', text: `Done (HTTP ${status}, no content)` }] };

  const type = (header(headers['content-type']) ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json' || type.endsWith('+json')) {
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      return failure(FAILED, 'upstream_bad_json', opts.requestId);
    }
    const result: ToolResult = { content: [{ type: 'text', text: JSON.stringify(value) }] };
    if (opts.structured && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      result.structuredContent = value as Record<string, unknown>;
    }
    return result;
  }
  if (type === '' || type.startsWith('text/')) {
    return { content: [{ type: 'text', text: new TextDecoder('utf-8').decode(body) }] };
  }
  return failure(FAILED, 'upstream_unsupported_type', opts.requestId);
}

/** Maps a thrown error (network, TLS, egress policy, timeout) to a failure. */
export function mapError(err: unknown, timedOut: boolean, requestId: string): ToolResult {
  if (timedOut) return failure(TIMED_OUT, 'upstream_timeout', requestId);
  if (err instanceof EgressRefused) return failure(FAILED, err.reason, requestId);
  if (err instanceof CredentialUnavailable) return failure(FAILED, err.reason, requestId);
  const code = errorCode(err);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return failure(TIMED_OUT, 'upstream_connect_timeout', requestId);
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return failure(TIMED_OUT, 'upstream_timeout', requestId);
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return failure(FAILED, 'upstream_too_large', requestId);
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return failure(FAILED, 'upstream_unreachable', requestId);
    default:
      if (code !== undefined && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME|ALTNAME/.test(code)) {
        return failure(FAILED, 'upstream_tls', requestId);
      }
      return failure(FAILED, 'upstream_error', requestId);
  }
}

/** The error's code, looking through `cause` (undici and fetch wrap socket errors). */
export function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

function discard(res: Dispatcher.ResponseData, text: string, reason: string, requestId: string): ToolResult {
  abandon(res.body);
  return failure(text, reason, requestId);
}
