/**
 * JSON-RPC 2.0 message intake (SEC-IN-02/03/04/07): strict UTF-8, `JSON.parse`, then an
 * iterative structural scan (no recursion, so 200 000 levels cannot blow the stack) that
 * enforces depth, sizes and rejects prototype keys, then the envelope rules. One message per
 * POST; batches are refused for every protocol version.
 */

export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  readonly kind: 'request';
  readonly id: JsonRpcId;
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
}

export interface JsonRpcNotification {
  readonly kind: 'notification';
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
}

export interface JsonRpcResponse {
  readonly kind: 'response';
  readonly id: JsonRpcId;
  readonly result?: unknown;
  readonly error?: unknown;
}

export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export type ParseFailure = { ok: false; code: -32700 | -32600; reason: string };
export type ParseResult = { ok: true; message: JsonRpcMessage } | ParseFailure;

export interface StructureLimits {
  maxDepth: number;
  maxKeysPerObject: number;
  maxArrayLength: number;
  maxStringLength: number;
  maxNodes: number;
}

export const DEFAULT_LIMITS: StructureLimits = {
  maxDepth: 32,
  maxKeysPerObject: 1000,
  maxArrayLength: 10_000,
  maxStringLength: 1024 * 1024,
  maxNodes: 100_000,
};

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const MAX_ID_LENGTH = 128;

/** Methods that are requests: sent without an id they are refused, never run (SEC-IN-04). */
const REQUEST_METHODS = new Set([
  'initialize',
  'ping',
  'server/discover',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'subscriptions/listen',
  'tasks/get',
  'tasks/result',
  'tasks/cancel',
  'tasks/list',
]);

export function parseMessage(body: Buffer, limits: StructureLimits): ParseResult {
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    return { ok: false, code: -32700, reason: 'not_utf8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: -32700, reason: 'not_json' };
  }
  if (Array.isArray(value)) return { ok: false, code: -32600, reason: 'batch_not_supported' };
  const structural = scanStructure(value, limits);
  if (structural) return { ok: false, code: -32600, reason: structural };
  return toMessage(value);
}

/** Iterative walk; returns a reason when a limit is crossed. */
export function scanStructure(root: unknown, limits: StructureLimits): string | undefined {
  const stack: { v: unknown; d: number }[] = [{ v: root, d: 1 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (++nodes > limits.maxNodes) return 'too_many_nodes';
    if (typeof v === 'string') {
      if (v.length > limits.maxStringLength) return 'string_too_long';
      continue;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return 'non_finite_number';
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (d > limits.maxDepth) return 'too_deep';
    if (Array.isArray(v)) {
      if (v.length > limits.maxArrayLength) return 'array_too_long';
      for (const item of v) stack.push({ v: item, d: d + 1 });
      continue;
    }
    const keys = Object.keys(v);
    if (keys.length > limits.maxKeysPerObject) return 'too_many_keys';
    for (const k of keys) {
      if (FORBIDDEN_KEYS.has(k)) return 'forbidden_key';
      stack.push({ v: (v as Record<string, unknown>)[k], d: d + 1 });
    }
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function validId(id: unknown): id is JsonRpcId {
  if (typeof id === 'string') return id.length <= MAX_ID_LENGTH;
  return typeof id === 'number' && Number.isSafeInteger(id);
}

const invalid = (reason: string): ParseFailure => ({ ok: false, code: -32600, reason });

function toMessage(v: unknown): ParseResult {
  if (!isObject(v)) return invalid('not_an_object');
  if (v.jsonrpc !== '2.0') return invalid('bad_jsonrpc_version');
  for (const k of Object.keys(v)) {
    if (k !== 'jsonrpc' && k !== 'id' && k !== 'method' && k !== 'params' && k !== 'result' && k !== 'error') {
      return invalid('unknown_member');
    }
  }
  const hasId = 'id' in v;
  if ('method' in v) {
    if (typeof v.method !== 'string' || v.method.length === 0 || v.method.length > 256) return invalid('bad_method');
    if ('result' in v || 'error' in v) return invalid('mixed_message');
    if ('params' in v && !isObject(v.params)) return invalid('params_not_object');
    const params = v.params as Record<string, unknown> | undefined;
    if (!hasId) {
      if (REQUEST_METHODS.has(v.method)) return invalid('request_without_id');
      return { ok: true, message: { kind: 'notification', method: v.method, params } };
    }
    if (!validId(v.id)) return invalid('bad_id');
    return { ok: true, message: { kind: 'request', id: v.id, method: v.method, params } };
  }
  if (!hasId || !validId(v.id)) return invalid('bad_id');
  if ('result' in v === 'error' in v) return invalid('bad_response');
  return { ok: true, message: { kind: 'response', id: v.id, result: v.result, error: v.error } };
}
