/**
 * Upstream URLs from validated arguments (SEC-UP-04, U-03…U-07, U-16). The scheme, host, port
 * and path prefix come from config; an argument only ever fills one path segment (or part of
 * one) and is refused unless it is a plain identifier: no `/`, `?`, `#`, `@`, `%`, `\`, no
 * dot-only value, so `..`, `%2e%2e` and `a/b` can never name another path. The value is then
 * percent-encoded and the built URL checked again: same origin, under the prefix, no userinfo.
 * Query strings are built with URLSearchParams only, never by concatenation.
 */

/** A path segment value: an identifier, or a safe integer. Dot-only values are refused separately. */
const SEGMENT_VALUE = /^[A-Za-z0-9_.~-]{1,128}$/;
/** Literal characters of a configured path: RFC 3986 `pchar` without `%`, and `/`. */
const PATH_LITERAL = /^[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/;
const VAR = /\{([^{}/]{1,128})\}/g;

export type PathTemplate =
  { ok: true; vars: string[]; parts: readonly (string | { v: string })[] } | { ok: false; problem: string };

/** Parses `/invoices/{invoiceId}` once, at start. */
export function parsePathTemplate(path: string): PathTemplate {
  if (!path.startsWith('/')) return { ok: false, problem: "must start with '/'" };
  const parts: (string | { v: string })[] = [];
  const vars: string[] = [];
  let last = 0;
  for (const m of path.matchAll(VAR)) {
    parts.push(path.slice(last, m.index));
    const name = m[1] ?? '';
    parts.push({ v: name });
    vars.push(name);
    last = m.index + m[0].length;
  }
  parts.push(path.slice(last));
  const literal = parts.filter((p): p is string => typeof p === 'string').join('');
  if (!PATH_LITERAL.test(literal))
    return { ok: false, problem: 'has characters outside a URL path (no %, ?, # or braces)' };
  const skeleton = parts.map((p) => (typeof p === 'string' ? p : 'x')).join('');
  if (/(^|\/)\.{1,2}(\/|$)/.test(skeleton) || skeleton.includes('//'))
    return { ok: false, problem: 'must not contain dot or empty segments' };
  return { ok: true, vars, parts };
}

export type Built =
  { ok: true; url: URL } | { ok: false; reason: 'bad_path_argument' | 'bad_query_argument'; arg: string };

export interface UrlParts {
  /** The upstream's base URL without a trailing slash, e.g. `https://api.example.com/v1`. */
  readonly baseUrl: string;
  readonly origin: string;
  readonly basePath: string;
}

/**
 * Builds the request URL. `pathValues` maps each template variable to its value (an argument,
 * or the caller's tenant); `query` pairs are appended in order, `tenantQuery` last with `set`,
 * so no argument can add a second value for it.
 */
export function buildUrl(
  upstream: UrlParts,
  template: Extract<PathTemplate, { ok: true }>,
  pathValues: Readonly<Record<string, unknown>>,
  query: readonly [name: string, arg: string, value: unknown][],
  tenantQuery?: readonly [name: string, value: string],
): Built {
  let path = '';
  for (const part of template.parts) {
    if (typeof part === 'string') {
      path += part;
      continue;
    }
    const segment = segmentValue(pathValues[part.v]);
    if (segment === undefined) return { ok: false, reason: 'bad_path_argument', arg: part.v };
    path += encodeURIComponent(segment);
  }
  const params = new URLSearchParams();
  for (const [name, arg, value] of query) {
    if (value === undefined || value === null) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      const text = scalarText(v);
      if (text === undefined) return { ok: false, reason: 'bad_query_argument', arg };
      params.append(name, text);
    }
  }
  if (tenantQuery) params.set(tenantQuery[0], tenantQuery[1]);
  const search = params.toString();
  const url = new URL(`${upstream.baseUrl}${path}${search ? `?${search}` : ''}`);
  // Defence in depth: whatever went in, the result must still be this upstream, under its prefix.
  const prefix = `${upstream.basePath}/`;
  if (
    url.origin !== upstream.origin ||
    url.username !== '' ||
    url.password !== '' ||
    url.hash !== '' ||
    !(url.pathname === upstream.basePath || url.pathname.startsWith(prefix))
  ) {
    const arg = template.vars[0] ?? '';
    return { ok: false, reason: 'bad_path_argument', arg };
  }
  return { ok: true, url };
}

function segmentValue(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : undefined;
  if (typeof v !== 'string' || !SEGMENT_VALUE.test(v) || /^\.+$/.test(v)) return undefined;
  return v;
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return undefined;
}
