/**
 * Protocol constants: the revisions served, the `_meta` keys of 2026-07-28, and error codes.
 * Sources: MCP 2026-07-28 `basic/index.mdx`, `basic/transports/streamable-http.mdx`,
 * `basic/versioning.mdx`; 2025-11-25 `basic/lifecycle.mdx`; 2024-11-05 `basic/transports.mdx`.
 */

export const MODERN_VERSION = '2026-07-28';
/** Revisions served statelessly (2026-07-28 and later). */
export const MODERN_VERSIONS: readonly string[] = [MODERN_VERSION];
/** Revisions served with sessions, newest first (Streamable HTTP). */
export const SESSION_VERSIONS: readonly string[] = ['2025-11-25', '2025-06-18', '2025-03-26'];
/** The HTTP+SSE transport's revision. */
export const SSE_VERSION = '2024-11-05';
export const LEGACY_VERSIONS: readonly string[] = [...SESSION_VERSIONS, SSE_VERSION];

export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const;

export const RpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** SDK convention for unknown sessions (SECURITY.md RC-8). */
  SessionNotFound: -32001,
  /** Implementation-defined range: rate limits (RC-19) and refusals that are not protocol errors. */
  ServerError: -32000,
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
} as const;

export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;

/** Methods whose 2026 requests must carry `Mcp-Name`, and where the body keeps that value. */
export const NAMED_METHODS: ReadonlyMap<string, string> = new Map([
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
]);
