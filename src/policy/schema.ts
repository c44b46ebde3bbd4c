/**
 * Argument validation (SEC-IN-06): tool schemas are JSON Schema 2020-12, compiled once at start
 * by Ajv in strict mode, no type coercion, no `$data`, no defaults, no remote `$ref`.
 * Objects get `additionalProperties: false` unless the schema says otherwise.
 * A failure names the offending JSON Pointer, never the value.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';

// ajv-formats ships CommonJS whose types do not model its default export under NodeNext.
const addFormats = createRequire(import.meta.url)('ajv-formats') as (ajv: Ajv2020) => Ajv2020;

export function createSchemaCompiler(): Ajv2020 {
  const ajv = new Ajv2020({
    strict: true,
    strictRequired: false,
    allErrors: false,
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    $data: false,
    allowUnionTypes: true,
    validateFormats: true,
    // Remote $ref are never fetched: no loadSchema is configured.
  });
  addFormats(ajv);
  // Annotations the gateway reads itself: header mirroring (2026-07-28) and redaction.
  ajv.addKeyword({ keyword: 'x-mcp-header', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-sensitive', schemaType: 'boolean' });
  return ajv;
}

/** Returns a copy of the schema where every object schema closes its properties by default. */
export function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    // Values under these keywords are maps of name → schema, or data, not schemas themselves.
    if (
      k === 'properties' ||
      k === 'patternProperties' ||
      k === '$defs' ||
      k === 'definitions' ||
      k === 'dependentSchemas'
    ) {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([n, s]) => [n, closeObjects(s)]));
    } else if (k === 'enum' || k === 'const' || k === 'examples' || k === 'default' || k === 'required') {
      out[k] = v;
    } else {
      out[k] = closeObjects(v);
    }
  }
  const isObjectSchema = out.type === 'object' || (out.type === undefined && 'properties' in out);
  if (isObjectSchema && !('additionalProperties' in out) && !('unevaluatedProperties' in out)) {
    out.additionalProperties = false;
  }
  return out;
}

export interface ArgumentValidator {
  (args: unknown): string | undefined;
}

export function compileValidator(ajv: Ajv2020, schema: Record<string, unknown>): ArgumentValidator {
  const validate: ValidateFunction = ajv.compile(schema);
  return (args) => (validate(args) ? undefined : describe(validate.errors?.[0]));
}

/** A message the model can act on: the field and the rule, never the offending value. */
export function describe(e: ErrorObject | undefined): string {
  if (!e) return 'arguments are invalid';
  const at = e.instancePath === '' ? 'arguments' : `argument '${e.instancePath.slice(1)}'`;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `missing required argument '${joinPath(e.instancePath, String(params.missingProperty))}'`;
    case 'additionalProperties':
      return `unexpected argument '${joinPath(e.instancePath, String(params.additionalProperty))}'`;
    case 'type':
      return `${at} must be ${String(params.type)}`;
    default:
      return `${at} ${e.message ?? 'is invalid'}`;
  }
}

function joinPath(base: string, prop: string): string {
  return base === '' ? prop : `${base.slice(1)}/${prop}`;
}
