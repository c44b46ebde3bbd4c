/**
 * One OpenAPI operation → one tool. Arguments: path parameters (required), query and header
 * parameters, and the JSON request body as the single argument `body` (`http.body: {arg: body}`),
 * never flattened, so a body can be any JSON value (oneOf, arrays) and its fields never collide
 * with parameters. A parameter whose name is taken gets a `_query`/`_header` suffix.
 * Credentials are never arguments (SEC-UP-01): `Authorization`/`Cookie` headers, cookie
 * parameters and the parameters of the spec's API-key security schemes are left out — the
 * gateway's upstream holds the credential.
 */
import { isReservedHeader } from '../http/config.js';
import { isObject, isRef } from './documents.js';
import type { SpecDocuments } from './documents.js';
import { MAX_ARG_NAME, UniqueNames, argBaseName } from './names.js';
import type { Schema, SchemaConverter } from './schema.js';
import type { GeneratedTool, HttpMethod, HttpMapping } from './types.js';

const MAX_DESCRIPTION = 4096;
const MAX_TITLE = 200;
/**
 * Header parameters dropped without a word: OpenAPI ignores these (3.0 §4.7.12.1), or they carry
 * credentials. Other headers the http backend reserves (framing, hop-by-hop) are reported.
 */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization', 'cookie', 'proxy-authorization']);

/** A skipped operation: the reason is reported as a warning. */
export class SkipOperation extends Error {}

export interface OperationContext {
  readonly docs: SpecDocuments;
  readonly converter: SchemaConverter;
  /** `in:name` (name lower-cased for headers) of API-key security parameters. */
  readonly credentialParams: ReadonlySet<string>;
  readonly warn: (message: string) => void;
}

export interface OperationInput {
  readonly name: string;
  readonly method: HttpMethod;
  readonly path: string;
  readonly op: Record<string, unknown>;
  /** The file the operation was read from (for relative `$ref`s). */
  readonly file: string;
  /** Path-level parameters with their file. */
  readonly pathParams: readonly { param: unknown; file: string }[];
  readonly upstream: string;
  readonly roles: string[];
  readonly scopes: string[];
  readonly destructive: boolean;
}

interface Param {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  description?: string;
  schema: unknown;
  /** Serialised as a media type (`content` instead of `schema`): not supported. */
  viaContent: boolean;
  file: string;
}

export function buildTool(ctx: OperationContext, input: OperationInput): GeneratedTool {
  const { op, method, path } = input;
  const at = `${method} ${path}`;
  const params = collectParams(ctx, input, at);
  const args = new UniqueNames(MAX_ARG_NAME);
  const properties: Schema = {};
  const required: string[] = [];
  const defs = new Set<string>();
  const http: HttpMapping = { upstream: input.upstream, method, path };

  const body = requestBody(ctx, op, input.file, at, method);
  if (body) args.reserve('body');
  // `confirm` is the gateway's own argument, never sent upstream: no parameter may use it.
  args.reserve('confirm');

  // Path parameters first: they keep their names; every {template} variable must be one.
  const templateVars = [...path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1] ?? '');
  const pathArgs = new Map<string, string>();
  for (const v of templateVars) {
    const p = params.find((x) => x.in === 'path' && x.name === v);
    if (!p) throw new SkipOperation(`${at}: path parameter {${v}} is not defined`);
    const arg = args.take(argBaseName(v));
    pathArgs.set(v, arg);
    const c = ctx.converter.convert(p.schema, p.file, `${at} path parameter ${v}`);
    for (const k of c.defs) defs.add(k);
    properties[arg] = pathSchema(c.schema, p.description);
    required.push(arg);
  }
  http.path = path.replace(/\{([^}]*)\}/g, (_m, v: string) => `{${pathArgs.get(v) ?? v}}`);

  for (const where of ['query', 'header'] as const) {
    const mapping: Record<string, string> = {};
    for (const p of params.filter((x) => x.in === where)) {
      const c = ctx.converter.convert(p.schema, p.file, `${at} ${where} parameter ${p.name}`);
      const problem = p.viaContent
        ? 'is serialised as a media type (not supported)'
        : unsupportedParam(c.schema, where);
      if (problem) {
        if (p.required) throw new SkipOperation(`${at}: required ${where} parameter '${p.name}' ${problem}`);
        ctx.warn(`${at}: optional ${where} parameter '${p.name}' ${problem}; left out`);
        continue;
      }
      const base = argBaseName(p.name);
      const arg = args.take(args.has(base) ? `${base}_${where}` : base);
      for (const k of c.defs) defs.add(k);
      properties[arg] = withDescription(c.schema, p.description);
      if (p.required) required.push(arg);
      mapping[p.name] = arg;
    }
    if (Object.keys(mapping).length > 0) http[where === 'query' ? 'query' : 'headers'] = mapping;
  }

  if (body) {
    for (const k of body.converted.defs) defs.add(k);
    properties.body = withDescription(body.converted.schema, body.description);
    if (body.required) required.push('body');
    http.body = { arg: 'body' };
  }
  if (input.destructive) {
    properties.confirm = { type: 'boolean', description: 'Must be true to carry out this action.' };
    required.push('confirm');
  }

  const schema: Schema = { type: 'object', properties };
  if (required.length > 0) schema.required = required;
  const $defs = ctx.converter.defs(defs);
  if ($defs) schema.$defs = $defs;

  const summary = typeof op.summary === 'string' ? op.summary.trim() : '';
  const description = typeof op.description === 'string' ? op.description.trim() : '';
  const tool: GeneratedTool = {
    name: input.name,
    ...(summary && { title: truncate(summary.replace(/\s+/g, ' '), MAX_TITLE) }),
    description: truncate(
      (op.deprecated === true ? 'Deprecated. ' : '') + (description || summary || `${method} ${path}`),
      MAX_DESCRIPTION,
    ),
    roles: input.roles,
    ...(input.scopes.length > 0 && { scopes: input.scopes }),
    ...((method === 'GET' || method === 'HEAD') && !input.destructive && { readOnly: true as const }),
    ...(input.destructive && { destructive: true as const }),
    input: schema,
    http,
  };
  return tool;
}

/** Path-level and operation-level parameters (the operation's win), credentials left out. */
function collectParams(ctx: OperationContext, input: OperationInput, at: string): Param[] {
  const byKey = new Map<string, Param>();
  const opParams = Array.isArray(input.op.parameters) ? input.op.parameters : [];
  const all = [...input.pathParams, ...opParams.map((param: unknown) => ({ param, file: input.file }))];
  for (const { param, file } of all) {
    let raw = param;
    let where = file;
    if (isRef(raw)) {
      const r = ctx.docs.resolve(raw.$ref, file);
      raw = r.value;
      where = r.file;
    }
    if (!isObject(raw) || typeof raw.name !== 'string' || typeof raw.in !== 'string') {
      throw new SkipOperation(`${at}: malformed parameter`);
    }
    const loc = raw.in;
    if (loc !== 'path' && loc !== 'query' && loc !== 'header' && loc !== 'cookie') {
      throw new SkipOperation(`${at}: parameter '${raw.name}' has unknown location '${loc}'`);
    }
    const key = `${loc}:${loc === 'header' ? raw.name.toLowerCase() : raw.name}`;
    byKey.set(key, {
      name: raw.name,
      in: loc,
      required: loc === 'path' || raw.required === true,
      ...(typeof raw.description === 'string' && { description: raw.description }),
      schema: raw.schema,
      viaContent: raw.schema === undefined && raw.content !== undefined,
      file: where,
    });
  }
  const out: Param[] = [];
  for (const [key, p] of byKey) {
    const credential =
      ctx.credentialParams.has(key) || (p.in === 'header' && IGNORED_HEADERS.has(p.name.toLowerCase()));
    if (credential) continue;
    if (p.in === 'cookie' || (p.in === 'header' && isReservedHeader(p.name))) {
      const problem = `${p.in} parameter '${p.name}' cannot be sent by the http backend`;
      if (p.required) throw new SkipOperation(`${at}: required ${problem}`);
      ctx.warn(`${at}: optional ${problem}; left out`);
      continue;
    }
    out.push(p);
  }
  return out;
}

interface Body {
  converted: ReturnType<SchemaConverter['convert']>;
  required: boolean;
  description?: string;
}

/** The JSON request body, if any. A non-JSON body: the operation is skipped (or imported without an optional one). */
function requestBody(
  ctx: OperationContext,
  op: Record<string, unknown>,
  file: string,
  at: string,
  method: HttpMethod,
): Body | undefined {
  let raw = op.requestBody;
  let where = file;
  if (raw === undefined) return undefined;
  if (method === 'GET' || method === 'HEAD') {
    ctx.warn(`${at}: a ${method} request carries no body; its requestBody is ignored`);
    return undefined;
  }
  if (isRef(raw)) {
    const r = ctx.docs.resolve(raw.$ref, file);
    raw = r.value;
    where = r.file;
  }
  if (!isObject(raw) || !isObject(raw.content)) throw new SkipOperation(`${at}: malformed requestBody`);
  const required = raw.required === true;
  const types = Object.keys(raw.content);
  const json =
    types.find((t) => mediaType(t) === 'application/json') ??
    types.find((t) => /^application\/[^;]*\+json$/.test(mediaType(t)));
  if (json === undefined) {
    const message = `request body ${types.join(', ') || '(no media type)'} is not JSON`;
    if (required) throw new SkipOperation(`${at}: ${message}`);
    ctx.warn(`${at}: optional ${message}; imported without a body`);
    return undefined;
  }
  const media = raw.content[json];
  const schema = isObject(media) ? media.schema : undefined;
  return {
    converted: ctx.converter.convert(schema, where, `${at} request body`),
    required,
    ...(typeof raw.description === 'string' && { description: raw.description }),
  };
}

function mediaType(t: string): string {
  return (t.split(';')[0] ?? '').trim().toLowerCase();
}

/** Path arguments are strings or integers (the http backend encodes them into one segment). */
function pathSchema(schema: Schema, description: string | undefined): Schema {
  const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : [schema.type];
  if (types.includes('integer') && !types.includes('string'))
    return withDescription({ ...schema, type: 'integer' }, description);
  if (schema.type === 'string') return withDescription(schema, description);
  const out: Schema = { type: 'string' };
  const d = description ?? (typeof schema.description === 'string' ? schema.description : undefined);
  if (d !== undefined) out.description = d;
  return out;
}

/** Query values are scalars or arrays of scalars (repeated keys); headers are scalars. */
function unsupportedParam(schema: Schema, where: 'query' | 'header'): string | undefined {
  if (schema.type === 'object' || (Array.isArray(schema.type) && schema.type.includes('object'))) {
    return 'is an object (not supported)';
  }
  if (
    where === 'header' &&
    (schema.type === 'array' || (Array.isArray(schema.type) && schema.type.includes('array')))
  ) {
    return 'is an array (not supported in headers)';
  }
  return undefined;
}

function withDescription(schema: Schema, description: string | undefined): Schema {
  return description === undefined || description === '' ? schema : { ...schema, description };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}\u2026`;
}
