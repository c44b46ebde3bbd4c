/**
 * `importOpenApi(file, options)`: reads an OpenAPI 3.0/3.1 description (a local JSON or YAML
 * file) and returns one tool definition per selected operation. Policy per operation:
 *   - readOnly: GET and HEAD; destructive: DELETE (or `x-portcullis-destructive: true`);
 *     PUT and PATCH are listed for review (they may overwrite data).
 *   - scopes: the scopes of the operation's security requirements (the document's by default);
 *     with several alternatives their union — stricter than the spec, never looser.
 *   - roles: `x-portcullis-roles` of the operation, else the roles `roleMap` gives its scopes,
 *     else `options.roles`, else the document's `x-portcullis-roles`, else `admin`.
 * Work is linear in the size of the spec: every schema is converted once and shared.
 */
import { OpenApiError, SpecDocuments, isObject } from './documents.js';
import { compileFilter } from './filter.js';
import { MAX_TOOL_NAME, UniqueNames, toolBaseName } from './names.js';
import { SkipOperation, buildTool } from './operation.js';
import { SchemaConverter } from './schema.js';
import { DEFAULT_ROLES, DEFAULT_UPSTREAM } from './types.js';
import type { GeneratedTool, HttpMethod, ImportOptions, ImportResult } from './types.js';

const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const OTHER_METHODS = ['options', 'trace'];

/** Imports the spec at `file`. Throws `OpenApiError` when the spec as a whole is unusable. */
export function importOpenApi(file: string, options: ImportOptions = {}): ImportResult {
  const docs = SpecDocuments.open(file);
  const spec = docs.root;
  if (!isObject(spec)) throw new OpenApiError('the spec is not an object');
  if (typeof spec.swagger === 'string') throw new OpenApiError('Swagger 2.0 is not supported; convert it to OpenAPI 3');
  const version = typeof spec.openapi === 'string' ? /^3\.([01])\.\d+/.exec(spec.openapi) : null;
  if (!version) throw new OpenApiError(`unsupported openapi version ${JSON.stringify(spec.openapi)} (3.0 or 3.1)`);
  if (spec.paths !== undefined && !isObject(spec.paths)) throw new OpenApiError('paths is not an object');

  const warnings: string[] = [];
  const warn = (message: string): void => void warnings.push(message);
  const converter = new SchemaConverter(docs, version[1] === '0', warn);
  const ctx = { docs, converter, credentialParams: credentialParams(spec), warn };
  const matches = compileFilter(options.filter ?? {});
  const names = new UniqueNames(MAX_TOOL_NAME);
  const upstream = options.upstream ?? DEFAULT_UPSTREAM;
  const defaultRoles = options.roles && options.roles.length > 0 ? [...options.roles] : undefined;
  const docRoles = stringList(spec['x-portcullis-roles']);
  const tools: GeneratedTool[] = [];
  const review = new Map<string, string>();
  let operations = 0;
  let filtered = 0;

  for (const [path, rawItem] of Object.entries(spec.paths ?? {})) {
    let item = rawItem;
    let itemFile = docs.rootFile;
    if (isObject(item) && typeof item.$ref === 'string') {
      const r = docs.resolve(item.$ref, itemFile);
      item = r.value;
      itemFile = r.file;
    }
    if (!isObject(item)) {
      warn(`${path}: path item is not an object; skipped`);
      continue;
    }
    const pathParams = (Array.isArray(item.parameters) ? item.parameters : []).map((param: unknown) => ({
      param,
      file: itemFile,
    }));
    for (const m of OTHER_METHODS) {
      if (isObject(item[m])) {
        operations++;
        warn(`${m.toUpperCase()} ${path}: method not supported by the http backend; skipped`);
      }
    }
    for (const method of METHODS) {
      const op = item[method.toLowerCase()];
      if (!isObject(op)) continue;
      operations++;
      const operationId = typeof op.operationId === 'string' && op.operationId !== '' ? op.operationId : undefined;
      const tags = stringList(op.tags) ?? [];
      if (!matches({ path, tags, operationId })) {
        filtered++;
        continue;
      }
      const at = `${method} ${path}`;
      try {
        const scopes = securityScopes(op.security ?? spec.security, at, warn);
        const roles = stringList(op['x-portcullis-roles']) ??
          mappedRoles(scopes, options.roleMap) ??
          defaultRoles ??
          docRoles ?? [...DEFAULT_ROLES];
        const flag = op['x-portcullis-destructive'];
        const destructive = typeof flag === 'boolean' ? flag : method === 'DELETE';
        const tool = buildTool(ctx, {
          name: '',
          method,
          path,
          op,
          file: itemFile,
          pathParams,
          upstream,
          roles,
          scopes,
          destructive,
        });
        // Named once built, so a skipped operation takes no name (and no `_2` suffix).
        const name = names.take(toolBaseName(options.prefix ?? '', operationId, method.toLowerCase(), path));
        tools.push({ ...tool, name });
        if ((method === 'PUT' || method === 'PATCH') && !destructive) {
          review.set(name, `${method} may overwrite or remove data: set destructive: true if it does`);
        }
      } catch (err) {
        if (err instanceof SkipOperation) warn(`${err.message}; skipped`);
        else if (err instanceof OpenApiError) warn(`${at}: ${err.message}; skipped`);
        else if (err instanceof RangeError) warn(`${at}: schema nests too deeply; skipped`);
        else throw err;
      }
    }
  }
  const info = isObject(spec.info) ? spec.info : {};
  return {
    tools,
    review,
    warnings,
    operations,
    filtered,
    servers: servers(spec.servers),
    title: typeof info.title === 'string' ? info.title : '',
  };
}

/** `in:name` of the parameters that carry API-key credentials (never tool arguments). */
function credentialParams(spec: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  const schemes =
    isObject(spec.components) && isObject(spec.components.securitySchemes) ? spec.components.securitySchemes : {};
  for (const s of Object.values(schemes)) {
    if (isObject(s) && s.type === 'apiKey' && typeof s.name === 'string' && typeof s.in === 'string') {
      out.add(`${s.in}:${s.in === 'header' ? s.name.toLowerCase() : s.name}`);
    }
  }
  return out;
}

function securityScopes(security: unknown, at: string, warn: (m: string) => void): string[] {
  if (!Array.isArray(security)) return [];
  const alternatives = security
    .filter(isObject)
    .map((req) =>
      Object.values(req).flatMap((list) =>
        Array.isArray(list) ? list.filter((s): s is string => typeof s === 'string') : [],
      ),
    );
  const all = new Set(alternatives.flat());
  const distinct = new Set(alternatives.map((a) => [...new Set(a)].sort().join(' ')));
  if (distinct.size > 1) warn(`${at}: security alternatives need different scopes; all of them are required`);
  for (const s of all) {
    if (/\s/.test(s) || s === '') {
      warn(`${at}: scope ${JSON.stringify(s)} contains whitespace and can never be granted; dropped`);
      all.delete(s);
    }
  }
  return [...all];
}

function mappedRoles(scopes: readonly string[], roleMap: ImportOptions['roleMap']): string[] | undefined {
  if (!roleMap) return undefined;
  const roles = new Set<string>();
  for (const s of scopes) if (Object.hasOwn(roleMap, s)) for (const r of roleMap[s] ?? []) roles.add(r);
  return roles.size > 0 ? [...roles] : undefined;
}

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const list = value.filter((v): v is string => typeof v === 'string' && v !== '');
  return list.length > 0 ? list : undefined;
}

function servers(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value
    .map((s) => (isObject(s) && typeof s.url === 'string' ? s.url : ''))
    .filter((u) => /^https?:\/\//.test(u));
}
