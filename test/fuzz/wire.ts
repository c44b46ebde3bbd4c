/**
 * Turning a symbolic input into bytes and back: the headers that mirror (or mutate) the body,
 * raw byte mutations of the serialised message, and reading answers, open streams included.
 */
import { PV_KEY } from './arbitraries.js';
import type { FuzzInput, HeaderSpec, Mirror, NameMirror, RawMutation } from './arbitraries.js';

export interface Answer {
  status: number | 'client_rejected' | 'client_aborted' | 'socket_error' | 'timeout';
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function mirrorHeaders(
  input: FuzzInput,
  route: FuzzInput['route']['kind'],
  add: (k: string, v: string) => void,
): void {
  const h: HeaderSpec = input.headers;
  const msg = isRecord(input.message) ? input.message : {};
  const params = isRecord(msg.params) ? msg.params : {};
  const meta = isRecord(params._meta) ? params._meta : {};
  if (h.contentType !== undefined) add('content-type', h.contentType);
  if (h.accept !== undefined) add('accept', h.accept);
  if (h.origin !== undefined) add('origin', h.origin);
  if (h.host !== undefined) add('host', h.host);
  if (h.contentEncoding !== undefined) add('content-encoding', h.contentEncoding);
  for (const [k, v] of h.extra) add(k, v);
  const version =
    route === 'modern' || route === 'odd'
      ? typeof meta[PV_KEY] === 'string'
        ? meta[PV_KEY]
        : '2026-07-28'
      : route === 'sse_message' || route === 'sse_open'
        ? undefined
        : '2025-11-25';
  mirror(h.protocolVersion, version, 'mcp-protocol-version', add);
  const modern = route === 'modern' || route === 'odd';
  mirror(h.mcpMethod, modern && typeof msg.method === 'string' ? msg.method : undefined, 'mcp-method', add);
  const name = modern && typeof params.name === 'string' ? params.name : undefined;
  const m: NameMirror = h.mcpName;
  if (m === 'base64' || m === 'bad_base64') {
    if (name !== undefined)
      add('mcp-name', m === 'base64' ? `=?base64?${Buffer.from(name).toString('base64')}?=` : '=?base64?!!?=');
  } else {
    mirror(m, name, 'mcp-name', add);
  }
}

/** Adds `header` as the body's value (`match`), leaves it out, repeats it, or sets another value. */
function mirror(m: Mirror, value: string | undefined, header: string, add: (k: string, v: string) => void): void {
  if (m === 'missing') return;
  if (typeof m === 'object') return add(header, m.value);
  if (value === undefined) return;
  const safe = /^[\x20-\x7e]*$/.test(value) ? value : `=?base64?${Buffer.from(value).toString('base64')}?=`;
  add(header, safe);
  if (m === 'dup') add(header, safe);
}

export function serialize(message: unknown): Buffer {
  return Buffer.from(JSON.stringify(message) ?? 'null', 'utf8');
}

/** Applies a raw mutation to the serialised body; positions are fractions of its length. */
export function mutate(body: Buffer, m: RawMutation): Buffer {
  const at = (f: number): number => Math.min(body.length, Math.floor(f * body.length));
  switch (m.kind) {
    case 'none':
      return body;
    case 'set_byte': {
      const b = Buffer.from(body);
      if (b.length > 0) b[Math.min(b.length - 1, at(m.at))] = m.byte;
      return b;
    }
    case 'truncate':
      return body.subarray(0, at(m.at));
    case 'insert':
      return Buffer.concat([body.subarray(0, at(m.at)), Buffer.from(m.bytes), body.subarray(at(m.at))]);
    case 'dup_key': {
      const i = body.indexOf('{');
      return i === -1 ? body : Buffer.concat([body.subarray(0, i + 1), Buffer.from(m.text), body.subarray(i + 1)]);
    }
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]);
    case 'batch':
      return Buffer.concat([
        Buffer.from('['),
        ...Array.from({ length: m.copies }, (_, i) => (i === 0 ? body : Buffer.concat([Buffer.from(','), body]))),
        Buffer.from(']'),
      ]);
    case 'replace':
      return Buffer.from(m.text, 'utf8');
  }
}

export function failureKind(err: unknown): Answer['status'] {
  const code = (err as { code?: unknown }).code;
  const name = (err as { name?: unknown }).name;
  if (name === 'AbortError' || name === 'TimeoutError') return 'client_aborted';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED' || err instanceof TypeError)
    return 'client_rejected';
  return 'socket_error';
}

export async function firstChunk(body: AsyncIterable<unknown>, ms: number): Promise<string> {
  const it = body[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const read = it.next();
  // Hanging up rejects a read still waiting; that is expected, not a failure.
  read.catch(() => undefined);
  const next = await Promise.race([
    read,
    new Promise<IteratorResult<unknown>>((resolve) => {
      timer = setTimeout(() => resolve({ done: true, value: undefined }), ms);
    }),
  ]).finally(() => clearTimeout(timer));
  return next.done === true ? '' : Buffer.from(next.value as Uint8Array).toString('utf8');
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
