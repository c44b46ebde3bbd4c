/**
 * OpenAPI Schema Objects (3.0 and 3.1) to JSON Schema 2020-12 that the gateway's strict Ajv
 * compiles (policy/schema.ts). Only known validation and annotation keywords are copied
 * (keywords.ts), so vendor keywords (`x-*`, `example`, `xml`, `discriminator`, …) never reach
 * the compiler.
 *
 * `$ref`s are inlined, except a target that is part of a reference cycle (or very large), which
 * becomes one `$defs` entry of the tool's schema and a local `#/$defs/…` reference — recursion is
 * kept, never unrolled. Each target is converted once per import and shared (linear work).
 */
import { OpenApiError, isObject, isRef } from './documents.js';
import type { SpecDocuments } from './documents.js';
import { NodeBuilder } from './keywords.js';

export type Schema = Record<string, unknown>;

/** A converted schema and the `$defs` keys it needs (transitively through what it inlines). */
export interface Converted {
  readonly schema: Schema;
  readonly defs: ReadonlySet<string>;
  /** Schema objects it expands to (what inlining it costs). */
  readonly size: number;
}

/** A target bigger than this (in schema objects) is referenced through `$defs` instead of inlined. */
const INLINE_MAX_SIZE = 2_000;

const EMPTY: ReadonlySet<string> = new Set();

export class SchemaConverter {
  readonly #docs: SpecDocuments;
  readonly #v30: boolean;
  readonly #warn: (message: string) => void;
  readonly #memo = new Map<string, Converted>();
  readonly #inProgress = new Set<string>();
  readonly #defNames = new Map<string, string>();
  readonly #usedDefNames = new Set<string>();
  /** Targets on a reference cycle (Tarjan's SCC, computed incrementally as targets are met). */
  readonly #cyclic = new Set<string>();
  readonly #sccIndex = new Map<string, number>();

  constructor(docs: SpecDocuments, openapi30: boolean, warn: (message: string) => void) {
    this.#docs = docs;
    this.#v30 = openapi30;
    this.#warn = warn;
  }

  /** Converts a schema found in `file` (`at` names it in warnings). */
  convert(schema: unknown, file: string, at: string): Converted {
    return this.#node(schema, file, at);
  }

  /** The `$defs` a tool schema needs for these keys, closed over the references between them. */
  defs(keys: ReadonlySet<string>): Schema | undefined {
    if (keys.size === 0) return undefined;
    const out: Schema = {};
    const queue = [...keys];
    const seen = new Set(queue);
    for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
      const c = this.#target(key);
      out[this.#defName(key)] = c.schema;
      for (const k of c.defs) {
        if (seen.has(k)) continue;
        seen.add(k);
        queue.push(k);
      }
    }
    return out;
  }

  #node(raw: unknown, file: string, at: string): Converted {
    if (raw === true || raw === undefined) return { schema: {}, defs: EMPTY, size: 1 };
    if (raw === false) return { schema: { not: {} }, defs: EMPTY, size: 1 };
    if (!isObject(raw)) {
      this.#warn(`${at}: not a schema, accepted as any value`);
      return { schema: {}, defs: EMPTY, size: 1 };
    }
    if (isRef(raw)) return this.#ref(raw, file);
    return new NodeBuilder(this, raw, file, at, this.#v30).build();
  }

  #ref(raw: Schema & { $ref: string }, file: string): Converted {
    const target = this.#docs.resolve(raw.$ref, file);
    let result: Converted;
    if (this.#isCyclic(target.key)) {
      result = { schema: { $ref: `#/$defs/${this.#defName(target.key)}` }, defs: new Set([target.key]), size: 1 };
    } else {
      const c = this.#target(target.key, target);
      result =
        c.size > INLINE_MAX_SIZE
          ? { schema: { $ref: `#/$defs/${this.#defName(target.key)}` }, defs: new Set([target.key]), size: 1 }
          : c;
    }
    // OpenAPI 3.0 ignores a $ref's siblings; 3.1 (JSON Schema) applies them: keep the annotations.
    if (!this.#v30) {
      const notes = pickAnnotations(raw);
      if (Object.keys(notes).length > 0) result = { ...result, schema: { ...result.schema, ...notes } };
    }
    return result;
  }

  /** The converted target of a reference key (memoised). */
  #target(key: string, resolved?: { file: string; value: unknown }): Converted {
    const done = this.#memo.get(key);
    if (done) return done;
    // Only reachable through a cycle the SCC pass missed; refuse rather than recurse forever.
    if (this.#inProgress.has(key)) throw new OpenApiError(`unexpected reference cycle at ${key}`);
    const { file, value } = resolved ?? this.#resolveKey(key);
    this.#inProgress.add(key);
    let c: Converted;
    try {
      c = this.#node(value, file, key.slice(key.indexOf('#')));
    } finally {
      this.#inProgress.delete(key);
    }
    this.#memo.set(key, c);
    return c;
  }

  #resolveKey(key: string): { file: string; value: unknown } {
    const hash = key.indexOf('#');
    return this.#docs.resolve(key.slice(hash), key.slice(0, hash));
  }

  #defName(key: string): string {
    let name = this.#defNames.get(key);
    if (name === undefined) {
      const last = key
        .slice(key.lastIndexOf('/') + 1)
        .replace(/~1/g, '/')
        .replace(/~0/g, '~');
      const base = last.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100) || 'schema';
      name = base;
      for (let n = 2; this.#usedDefNames.has(name); n++) name = `${base}_${n}`;
      this.#usedDefNames.add(name);
      this.#defNames.set(key, name);
    }
    return name;
  }

  #isCyclic(key: string): boolean {
    if (!this.#sccIndex.has(key)) this.#tarjan(key);
    return this.#cyclic.has(key);
  }

  /** Tarjan's strongly connected components from `root`, over targets not yet visited. */
  #tarjan(root: string): void {
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const visit = (key: string): void => {
      const index = this.#sccIndex.size;
      this.#sccIndex.set(key, index);
      low.set(key, index);
      stack.push(key);
      onStack.add(key);
      const edges = this.#edges(key);
      for (const next of edges) {
        if (!this.#sccIndex.has(next)) {
          visit(next);
          low.set(key, Math.min(low.get(key) ?? index, low.get(next) ?? index));
        } else if (onStack.has(next)) {
          low.set(key, Math.min(low.get(key) ?? index, this.#sccIndex.get(next) ?? index));
        }
      }
      if (low.get(key) === index) {
        const component: string[] = [];
        for (let k = stack.pop(); k !== undefined; k = stack.pop()) {
          onStack.delete(k);
          component.push(k);
          if (k === key) break;
        }
        if (component.length > 1 || edges.has(key)) for (const k of component) this.#cyclic.add(k);
      }
    };
    try {
      visit(root);
    } catch (err) {
      if (err instanceof RangeError) throw new OpenApiError('schema references nest too deeply');
      throw err;
    }
  }

  /** The reference targets a target's schema mentions directly (not through other targets). */
  #edges(key: string): Set<string> {
    const { file, value } = this.#resolveKey(key);
    const out = new Set<string>();
    const walk = (s: unknown): void => {
      if (!isObject(s)) return;
      if (isRef(s)) {
        out.add(this.#docs.resolve(s.$ref, file).key);
        return;
      }
      for (const sub of subschemas(s)) walk(sub);
    };
    walk(value);
    return out;
  }

  /** Used by NodeBuilder for child schemas. */
  child(raw: unknown, file: string, at: string): Converted {
    return this.#node(raw, file, at);
  }

  warn(message: string): void {
    this.#warn(message);
  }
}

function pickAnnotations(raw: Schema): Schema {
  const out: Schema = {};
  for (const k of ['title', 'description'] as const) if (typeof raw[k] === 'string') out[k] = raw[k];
  if (typeof raw.deprecated === 'boolean') out.deprecated = raw.deprecated;
  if (raw.default !== undefined) out.default = raw.default;
  return out;
}

/** Every direct subschema of a schema object (for the reference graph). */
function* subschemas(s: Schema): Iterable<unknown> {
  for (const k of ['properties', 'patternProperties', '$defs', 'dependentSchemas']) {
    if (isObject(s[k])) yield* Object.values(s[k]);
  }
  for (const k of ['allOf', 'anyOf', 'oneOf', 'prefixItems']) if (Array.isArray(s[k])) yield* s[k];
  for (const k of ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames']) {
    if (isObject(s[k])) yield s[k];
  }
}
