/**
 * Building JSON-RPC answers. An `Outcome` is what a method handler returns; transports turn
 * it into HTTP (status, headers, JSON or SSE framing).
 */
import type { JsonRpcId } from './jsonrpc.js';

export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

export type Outcome =
  | {
      kind: 'result';
      result: Record<string, unknown>;
      /**
       * A pre-serialised `tools` array (the cached listing), spliced into the result so a
       * listing of a thousand tools is not re-serialised on every `tools/list`.
       */
      rawTools?: string;
      headers?: Record<string, string>;
    }
  | {
      kind: 'error';
      error: RpcError;
      /** HTTP status when the era maps this error to one (2026: 400/404; RC-4: 403). */
      status?: number;
      headers?: Record<string, string>;
    };

export function rpcError(code: number, message: string, data?: unknown, status?: number): Outcome {
  const error: RpcError = data === undefined ? { code, message } : { code, message, data };
  return status === undefined ? { kind: 'error', error } : { kind: 'error', error, status };
}

export function serializeResult(id: JsonRpcId, result: unknown, rawTools?: string): string {
  let body = JSON.stringify(result);
  if (rawTools !== undefined) body = body === '{}' ? `{"tools":${rawTools}}` : `{"tools":${rawTools},${body.slice(1)}`;
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${body}}`;
}

export function serializeError(id: JsonRpcId | null, error: RpcError): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

export function serializeNotification(method: string, params: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', method, params });
}
