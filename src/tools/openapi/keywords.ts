/**
 * The keywords of one (non-reference) OpenAPI Schema Object, translated to JSON Schema 2020-12:
 * only known validation and annotation keywords are copied; children go back through the
 * converter (schema.ts), which owns references.
 */
import { isObject } from './documents.js';
import type { Converted, Schema, SchemaConverter } from './schema.js';

// Formats ajv-formats knows (policy/schema.ts adds all of them); others are dropped, since
// strict Ajv refuses unknown formats.
const FORMATS = new Set([
  'date',
  'time',
  'date-time',
  'iso-time',
  'iso-date-time',
  'duration',
  'uri',
  'uri-reference',
  'uri-template',
  'url',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'regex',
  'uuid',
  'json-pointer',
  'json-pointer-uri-fragment',
  'relative-json-pointer',
  'byte',
  'int32',
  'int64',
  'float',
  'double',
  'password',
  'binary',
]);
const NUMBER_FORMATS = new Set(['int32', 'int64', 'float', 'double']);
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);
const EMPTY: ReadonlySet<string> = new Set();
/** Keys the gateway refuses in any argument object (protocol/jsonrpc.ts). */
export const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const OBJECT_KEYWORDS = ['properties', 'additionalProperties', 'patternProperties', 'propertyNames'];
const ARRAY_KEYWORDS = ['items', 'prefixItems', 'contains', 'maxItems', 'minItems', 'uniqueItems'];
const STRING_KEYWORDS = ['maxLength', 'minLength', 'pattern'];
const NUMBER_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'];

/** Converts one (non-reference) schema object; children go back through the converter. */
export class NodeBuilder {
  readonly #out: Schema = {};
  readonly #defs = new Set<string>();
  #size = 1;

  constructor(
    private readonly conv: SchemaConverter,
    private readonly raw: Schema,
    private readonly file: string,
    private readonly at: string,
    private readonly v30: boolean,
  ) {}

  build(): Converted {
    const { raw, at } = this;
    const out = this.#out;
    this.#type();
    for (const k of ['title', 'description'] as const) if (typeof raw[k] === 'string') out[k] = raw[k];
    if (typeof raw.deprecated === 'boolean') out.deprecated = raw.deprecated;
    if (raw.default !== undefined) out.default = raw.default;
    if (Array.isArray(raw.enum) && raw.enum.length > 0) out.enum = raw.enum;
    if (raw.const !== undefined) out.const = raw.const;
    if (!this.v30 && Array.isArray(raw.examples)) out.examples = raw.examples;
    this.#numbers();
    for (const k of ['maxLength', 'minLength', 'maxItems', 'minItems', 'maxProperties', 'minProperties']) {
      const v = raw[k];
      if (Number.isSafeInteger(v) && (v as number) >= 0) out[k] = v;
    }
    if (typeof raw.uniqueItems === 'boolean') out.uniqueItems = raw.uniqueItems;
    this.#pattern();
    this.#format();
    this.#object();
    this.#array();
    for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
      const list = raw[k];
      if (Array.isArray(list) && list.length > 0) out[k] = list.map((s, i) => this.#child(s, `${at}/${k}/${i}`));
    }
    for (const k of ['not', 'if', 'then', 'else'] as const) {
      if (raw[k] !== undefined) out[k] = this.#child(raw[k], `${at}/${k}`);
    }
    this.#mergeAllOf();
    this.#inferType();
    this.#freeForm();
    this.#nullable();
    return { schema: this.#out, defs: this.#defs.size > 0 ? this.#defs : EMPTY, size: this.#size };
  }

  #child(raw: unknown, at: string): Schema {
    const c = this.conv.child(raw, this.file, at);
    for (const k of c.defs) this.#defs.add(k);
    this.#size += c.size;
    return c.schema;
  }

  #type(): void {
    const t = this.raw.type;
    const list = typeof t === 'string' ? [t] : Array.isArray(t) && !this.v30 ? t : undefined;
    if (t === undefined) return;
    if (!list || list.length === 0 || !list.every((x) => typeof x === 'string' && TYPES.has(x))) {
      this.conv.warn(`${this.at}: unsupported type ${JSON.stringify(t)} ignored`);
      return;
    }
    this.#out.type = list.length === 1 ? list[0] : [...new Set(list)];
  }

  #numbers(): void {
    const { raw } = this;
    const out = this.#out;
    for (const k of ['minimum', 'maximum'] as const) if (isFiniteNumber(raw[k])) out[k] = raw[k];
    if (isFiniteNumber(raw.multipleOf) && raw.multipleOf > 0) out.multipleOf = raw.multipleOf;
    // 3.0: exclusiveMinimum/Maximum are booleans modifying minimum/maximum; 2020-12: numbers.
    for (const [ex, bound] of [
      ['exclusiveMinimum', 'minimum'],
      ['exclusiveMaximum', 'maximum'],
    ] as const) {
      const v = raw[ex];
      if (v === true && isFiniteNumber(raw[bound])) {
        out[ex] = raw[bound];
        delete out[bound];
      } else if (isFiniteNumber(v)) out[ex] = v;
    }
  }

  #pattern(): void {
    const p = this.raw.pattern;
    if (typeof p !== 'string') return;
    try {
      new RegExp(p, 'u'); // Ajv compiles patterns with the `u` flag
      this.#out.pattern = p;
    } catch {
      this.conv.warn(`${this.at}: pattern is not a valid ECMAScript regular expression; dropped`);
    }
  }

  #format(): void {
    const f = this.raw.format;
    if (typeof f !== 'string' || !FORMATS.has(f)) return;
    const t = this.#out.type ?? this.raw.type;
    const types = Array.isArray(t) ? t : [t];
    // A number format on a string (or a string format on a number) would be ignored by Ajv; skip it.
    if (NUMBER_FORMATS.has(f) ? !types.some((x) => x === 'integer' || x === 'number') : !types.includes('string'))
      return;
    this.#out.format = f;
    if (f === 'password') this.#out['x-sensitive'] = true; // redacted in the audit trail
  }

  #object(): void {
    const { raw, at } = this;
    const out = this.#out;
    if (isObject(raw.properties)) {
      const props: Schema = {};
      const dropped = new Set<string>();
      for (const [name, s] of Object.entries(raw.properties)) {
        if (FORBIDDEN_NAMES.has(name)) {
          // Refused at intake by the gateway (prototype pollution), so it can never be sent.
          this.conv.warn(`${at}: property '${name}' dropped`);
          dropped.add(name);
          continue;
        }
        // readOnly properties are not sent in requests (OpenAPI 3.0 §4.7.25.1 "readOnly").
        if (isObject(s) && s.readOnly === true) {
          dropped.add(name);
          continue;
        }
        props[name] = this.#child(s, `${at}/properties/${name}`);
      }
      out.properties = props;
      if (Array.isArray(raw.required)) {
        const req = raw.required.filter((r): r is string => typeof r === 'string' && !dropped.has(r));
        if (req.length > 0) out.required = [...new Set(req)];
      }
    } else if (Array.isArray(raw.required)) {
      const req = raw.required.filter((r): r is string => typeof r === 'string');
      if (req.length > 0) out.required = [...new Set(req)];
    }
    const ap = raw.additionalProperties;
    if (typeof ap === 'boolean') out.additionalProperties = ap;
    else if (isObject(ap)) out.additionalProperties = this.#child(ap, `${at}/additionalProperties`);
    if (isObject(raw.patternProperties)) {
      const pp: Schema = {};
      for (const [p, s] of Object.entries(raw.patternProperties)) {
        try {
          new RegExp(p, 'u');
          if (!FORBIDDEN_NAMES.has(p)) pp[p] = this.#child(s, `${at}/patternProperties/${p}`);
        } catch {
          this.conv.warn(`${at}: patternProperties key is not a valid regular expression; dropped`);
        }
      }
      out.patternProperties = pp;
    }
    if (raw.propertyNames !== undefined) out.propertyNames = this.#child(raw.propertyNames, `${at}/propertyNames`);
  }

  #array(): void {
    const { raw, at } = this;
    if (Array.isArray(raw.prefixItems) && !this.v30) {
      this.#out.prefixItems = raw.prefixItems.map((s, i) => this.#child(s, `${at}/prefixItems/${i}`));
    }
    if (raw.items !== undefined && !Array.isArray(raw.items)) this.#out.items = this.#child(raw.items, `${at}/items`);
    if (raw.contains !== undefined) this.#out.contains = this.#child(raw.contains, `${at}/contains`);
  }

  /**
   * `allOf` of object schemas becomes one object (properties and `required` merged): the gateway
   * closes every object schema, and closed branches of an `allOf` would refuse each other's
   * properties.
   */
  #mergeAllOf(): void {
    const out = this.#out;
    const all = out.allOf as Schema[] | undefined;
    if (!all) return;
    const objectLike = (s: Schema): boolean =>
      !('$ref' in s) && (s.type === 'object' || (s.type === undefined && (isObject(s.properties) || 'required' in s)));
    if (!all.every(objectLike) || (out.type !== undefined && out.type !== 'object')) {
      if (all.some((s) => s.type === 'object' || '$ref' in s)) {
        this.conv.warn(`${this.at}: allOf could not be merged into one object; check the generated schema`);
      }
      return;
    }
    const props: Schema = { ...(isObject(out.properties) ? out.properties : {}) };
    const required = new Set<string>(Array.isArray(out.required) ? (out.required as string[]) : []);
    const merged: Schema = { ...out, type: 'object' };
    delete merged.allOf;
    for (const branch of all) {
      for (const [name, s] of Object.entries(isObject(branch.properties) ? branch.properties : {})) {
        const prev = props[name];
        props[name] = prev === undefined ? s : { allOf: [prev, s] };
      }
      for (const r of Array.isArray(branch.required) ? (branch.required as string[]) : []) required.add(r);
      for (const [k, v] of Object.entries(branch)) {
        if (k === 'properties' || k === 'required' || k === 'type' || k in merged) continue;
        merged[k] = v;
      }
    }
    merged.properties = props;
    if (required.size > 0) merged.required = [...required];
    for (const k of Object.keys(out)) delete out[k];
    Object.assign(out, merged);
  }

  /** Strict Ajv needs a type for type-specific keywords; infer it when only one fits. */
  #inferType(): void {
    const out = this.#out;
    if (out.type !== undefined) return;
    const has = (keys: string[]): boolean => keys.some((k) => k in out);
    const kinds = [
      has(OBJECT_KEYWORDS) && 'object',
      has(ARRAY_KEYWORDS) && 'array',
      has(STRING_KEYWORDS) && 'string',
      has(NUMBER_KEYWORDS) && 'number',
    ].filter((k): k is string => k !== false);
    if (kinds.length === 1) out.type = kinds[0];
    else if (kinds.length > 1) out.type = kinds;
  }

  /**
   * An object schema with no properties at all is a free-form map in OpenAPI; say so explicitly,
   * since the gateway otherwise closes it to `{}`.
   */
  #freeForm(): void {
    const out = this.#out;
    const types = Array.isArray(out.type) ? out.type : [out.type];
    if (!types.includes('object')) return;
    const constrained = ['properties', 'patternProperties', 'additionalProperties', 'allOf', 'anyOf', 'oneOf'];
    if (!constrained.some((k) => k in out)) out.additionalProperties = true;
  }

  /** 3.0 `nullable: true` → `null` added to the type (and enum); without a type, `anyOf` with null. */
  #nullable(): void {
    if (!this.v30 || this.raw.nullable !== true) return;
    const out = this.#out;
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (Array.isArray(out.type)) {
      if (!out.type.includes('null')) out.type = [...(out.type as string[]), 'null'];
    } else if (Object.keys(out).some((k) => k !== 'description' && k !== 'title' && k !== 'default')) {
      const inner: Schema = { ...out };
      for (const k of Object.keys(out)) delete out[k];
      for (const k of ['title', 'description'] as const) {
        if (inner[k] === undefined) continue;
        out[k] = inner[k];
        delete inner[k];
      }
      out.anyOf = [inner, { type: 'null' }];
    }
    // The gateway closes `type: "object"` schemas only; close a nullable object here.
    if (Array.isArray(out.type) && out.type.includes('object') && !('additionalProperties' in out)) {
      out.additionalProperties = false;
    }
  }
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
