/**
 * `Mcp-Param-*` headers (MCP 2026-07-28 streamable-http.mdx, SEP-2243): a tool argument whose
 * schema carries `"x-mcp-header": "Name"` is mirrored by the client into `Mcp-Param-Name`.
 * Intermediaries may route on those headers, so the gateway rejects any request where a
 * mirrored header is missing, malformed or differs from the validated body (-32020, SEC-FWD-01).
 */
import { decodeHeaderValue } from './modern.js';

export interface ParamHeader {
  /** Property path from the arguments object (a chain of `properties`). */
  readonly path: readonly string[];
  /** Lower-case header name, `mcp-param-<name>`. */
  readonly header: string;
  readonly type: 'string' | 'integer' | 'boolean';
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Collects `x-mcp-header` annotations of a tool's input schema; problems name their path. */
export function extractParamHeaders(
  schema: Readonly<Record<string, unknown>>,
  problems: string[],
  at: string,
): ParamHeader[] {
  const out: ParamHeader[] = [];
  const seen = new Set<string>();
  const walk = (node: unknown, path: string[]): void => {
    if (node === null || typeof node !== 'object') return;
    const props = (node as Record<string, unknown>).properties;
    if (props === null || typeof props !== 'object') return;
    for (const [name, sub] of Object.entries(props as Record<string, unknown>)) {
      if (sub === null || typeof sub !== 'object') continue;
      const s = sub as Record<string, unknown>;
      const annotation = s['x-mcp-header'];
      if (annotation !== undefined) {
        const where = `${at}/input/properties/${[...path, name].join('/properties/')}`;
        if (typeof annotation !== 'string' || !TOKEN.test(annotation)) {
          problems.push(`${where}/x-mcp-header: must be an HTTP token`);
        } else if (s.type !== 'string' && s.type !== 'integer' && s.type !== 'boolean') {
          problems.push(
            `${where}/x-mcp-header: only string, integer or boolean properties can be mirrored in a header`,
          );
        } else if (seen.has(annotation.toLowerCase())) {
          problems.push(`${where}/x-mcp-header: duplicate header name ${annotation}`);
        } else {
          seen.add(annotation.toLowerCase());
          out.push({ path: [...path, name], header: `mcp-param-${annotation.toLowerCase()}`, type: s.type });
        }
      }
      walk(s, [...path, name]);
    }
  };
  walk(schema, []);
  return out;
}

/** True when every mirrored header matches the arguments exactly. */
export function paramHeadersMatch(
  defs: readonly ParamHeader[],
  args: Readonly<Record<string, unknown>>,
  header: (name: string) => string[] | undefined,
): boolean {
  for (const def of defs) {
    let value: unknown = args;
    for (const key of def.path) {
      value =
        value !== null && typeof value === 'object' && Object.hasOwn(value, key)
          ? (value as Record<string, unknown>)[key]
          : undefined;
    }
    const sent = header(def.header);
    if (value === undefined || value === null) {
      if (sent !== undefined) return false;
      continue;
    }
    if (sent === undefined || sent.length !== 1) return false;
    const decoded = decodeHeaderValue(sent[0] ?? '');
    if (decoded === undefined) return false;
    if (def.type === 'integer') {
      if (!/^-?\d+$/.test(decoded) || Number(decoded) !== value) return false;
    } else if (typeof value !== 'string' && typeof value !== 'boolean') {
      return false;
    } else if (decoded !== String(value)) {
      return false;
    }
  }
  return true;
}
