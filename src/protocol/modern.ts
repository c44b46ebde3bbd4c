/**
 * MCP 2026-07-28 over Streamable HTTP: stateless, one POST per message, every request carrying
 * its protocol version and client capabilities in `_meta` (basic/transports/streamable-http.mdx).
 *
 * The validation ladder runs in the order the spec's checks imply: `_meta` keys (-32602) →
 * standard headers equal the body (-32020) → version supported (-32022) → method dispatch
 * (unknown method: HTTP 404 + -32601). Authorization uses the validated body, never the headers.
 */
import type { IncomingMessage } from 'node:http';
import { sendEmpty, sendRpcError } from '../http/respond.js';
import type { LogLevel } from '../tools/types.js';
import { LOG_LEVELS, META, MODERN_VERSIONS, NAMED_METHODS, RpcCode } from './constants.js';
import type { AuthedRequest, TransportDeps } from './context.js';
import { responseCancellation } from './cancellation.js';
import { PostExchange } from './exchange.js';
import type { JsonRpcMessage } from './jsonrpc.js';
import type { RpcError } from './messages.js';

const EMPTY_CAPS: Readonly<Record<string, unknown>> = Object.freeze({});

type Ladder =
  | { ok: true; version: string; capabilities: Record<string, unknown>; logLevel: LogLevel | undefined }
  | { ok: false; status: number; error: RpcError };

const bad = (code: number, message: string, data?: unknown): Ladder => ({
  ok: false,
  status: 400,
  error: data === undefined ? { code, message } : { code, message, data },
});

/** Validates a message that claims 2026 semantics (its `_meta` names a protocol version). */
export function validateModern(
  req: IncomingMessage,
  method: string,
  params: Record<string, unknown> | undefined,
): Ladder {
  const meta = params?._meta;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta))
    return bad(RpcCode.InvalidParams, 'Missing _meta');
  const m = meta as Record<string, unknown>;
  const version = m[META.protocolVersion];
  const caps = m[META.clientCapabilities];
  if (typeof version !== 'string') return bad(RpcCode.InvalidParams, `Missing _meta["${META.protocolVersion}"]`);
  if (caps === null || typeof caps !== 'object' || Array.isArray(caps)) {
    return bad(RpcCode.InvalidParams, `Missing _meta["${META.clientCapabilities}"]`);
  }

  const headerVersion = single(req, 'mcp-protocol-version');
  if (headerVersion !== version) return bad(RpcCode.HeaderMismatch, 'Header mismatch: MCP-Protocol-Version');
  if (single(req, 'mcp-method') !== method) return bad(RpcCode.HeaderMismatch, 'Header mismatch: Mcp-Method');
  const nameKey = NAMED_METHODS.get(method);
  if (nameKey !== undefined) {
    const raw = single(req, 'mcp-name');
    const decoded = raw === undefined ? undefined : decodeHeaderValue(raw);
    if (decoded === undefined || decoded !== params?.[nameKey])
      return bad(RpcCode.HeaderMismatch, 'Header mismatch: Mcp-Name');
  }

  if (!MODERN_VERSIONS.includes(version)) {
    return bad(RpcCode.UnsupportedProtocolVersion, 'Unsupported protocol version', {
      supported: MODERN_VERSIONS,
      requested: version.slice(0, 64),
    });
  }
  const level = m[META.logLevel];
  if (level !== undefined && (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level))) {
    return bad(RpcCode.InvalidParams, 'Invalid log level');
  }
  return { ok: true, version, capabilities: caps as Record<string, unknown>, logLevel: level as LogLevel | undefined };
}

/** Handles one 2026-07-28 POST whose message is already parsed. */
export async function handleModernPost(
  a: AuthedRequest,
  msg: JsonRpcMessage,
  acceptsSse: boolean,
  deps: TransportDeps,
): Promise<void> {
  if (msg.kind === 'response') {
    // No server→client requests exist in 2026 (MRTR replaced them): a response answers nothing.
    sendRpcError(a.res, 400, msg.id, { code: RpcCode.InvalidRequest, message: 'Unexpected response' }, a.requestId);
    return;
  }
  const ladder = validateModern(a.req, msg.method, msg.params);
  if (!ladder.ok) {
    sendRpcError(a.res, ladder.status, msg.kind === 'request' ? msg.id : null, ladder.error, a.requestId);
    return;
  }
  if (msg.kind === 'notification') {
    sendEmpty(a.res, 202, a.requestId);
    return;
  }
  const exchange = new PostExchange(a.res, a.requestId, acceptsSse, deps.sseBufferLimitBytes);
  const outcome = await deps.dispatch(msg, {
    era: 'modern',
    principal: a.principal,
    ip: a.ip,
    requestId: a.requestId,
    protocolVersion: ladder.version,
    clientCapabilities: ladder.capabilities ?? EMPTY_CAPS,
    logLevel: ladder.logLevel,
    session: undefined,
    cancellation: responseCancellation(a.res),
    header: (name) => a.req.headersDistinct[name],
    notify: (method, params) => exchange.notify(method, params),
  });
  exchange.finish(msg.id, outcome);
}

/** True when a POST without a 2026 `_meta` claim still names a 2026-or-later version in its header. */
export function headerClaimsModern(req: IncomingMessage, legacyVersions: readonly string[]): boolean {
  const v = req.headers['mcp-protocol-version'];
  return typeof v === 'string' && !legacyVersions.includes(v) && v >= '2026';
}

function single(req: IncomingMessage, name: string): string | undefined {
  const values = req.headersDistinct[name];
  return values !== undefined && values.length === 1 ? values[0] : undefined;
}

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A literal (not base64) header value: printable ASCII only; anything else must use the sentinel. */
const PLAIN_VALUE = /^[\x20-\x7e]*$/;

/**
 * Decodes an `Mcp-Name`/`Mcp-Param-*` value: the `=?base64?…?=` sentinel is strict base64 of
 * UTF-8; anything else is literal and must be printable ASCII (F-03: a raw non-ASCII byte or a
 * control character would read differently in another hop). Invalid answers `undefined` (a mismatch).
 */
export function decodeHeaderValue(raw: string): string | undefined {
  if (!raw.startsWith('=?base64?') || !raw.endsWith('?=') || raw.length < 11) {
    return PLAIN_VALUE.test(raw) ? raw : undefined;
  }
  const m = SENTINEL.exec(raw);
  if (!m || !STRICT_BASE64.test(m[1] ?? '')) return undefined;
  try {
    return utf8.decode(Buffer.from(m[1] ?? '', 'base64'));
  } catch {
    return undefined;
  }
}
