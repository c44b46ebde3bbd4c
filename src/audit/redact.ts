/**
 * Argument redaction before anything reaches the audit trail or a log (SEC-AUD-02, O-07): a
 * value is replaced by `"[redacted]"` when its schema says `"x-sensitive": true` or when its key
 * contains one of the configured name patterns (`password`, `token`, `apiKey`, …).
 */

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/** Values nested deeper than this are replaced wholesale (inputs are limited to depth 32). */
const MAX_DEPTH = 64;

/** Schema keywords whose subschemas also apply to the same value. */
const APPLICATORS = ['allOf', 'anyOf', 'oneOf'] as const;

type Schema = Readonly<Record<string, unknown>>;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The schemas that apply to one position in the arguments, with their children resolved
 * lazily and cached (a recursive `$ref` is then a cycle of nodes, not an infinite tree). Only
 * names listed under `properties` get a node of their own, so the cache stays bounded.
 */
class Node {
  readonly sensitive: boolean;
  private readonly props = new Map<string, Node | undefined>();
  private additional: Node | undefined | null = null;
  private items: Node | undefined | null = null;
  private readonly prefix = new Map<number, Node | undefined>();

  constructor(
    private readonly schemas: readonly Schema[],
    private readonly root: Schema,
  ) {
    this.sensitive = schemas.some((s) => s['x-sensitive'] === true);
  }

  /** The node for property `key`: its `properties` entry, else `additionalProperties`. */
  child(key: string): Node | undefined {
    if (this.props.has(key)) return this.props.get(key);
    const direct = this.schemas
      .map((s) => s.properties)
      .filter(isSchema)
      .filter((p) => Object.hasOwn(p, key))
      .map((p) => p[key]);
    if (direct.length === 0) return this.additionalNode();
    const node = nodeFor(direct, this.root);
    this.props.set(key, node);
    return node;
  }

  /** The node for array element `index`: `prefixItems[index]`, else `items`. */
  element(index: number): Node | undefined {
    const fromPrefix = this.schemas.map((s) => s.prefixItems).filter((p): p is unknown[] => Array.isArray(p));
    if (fromPrefix.some((p) => index < p.length)) {
      if (!this.prefix.has(index))
        this.prefix.set(
          index,
          nodeFor(
            fromPrefix.map((p) => p[index]),
            this.root,
          ),
        );
      return this.prefix.get(index);
    }
    if (this.items === null)
      this.items = nodeFor(
        this.schemas.map((s) => s.items),
        this.root,
      );
    return this.items;
  }

  private additionalNode(): Node | undefined {
    if (this.additional === null)
      this.additional = nodeFor(
        this.schemas.map((s) => s.additionalProperties),
        this.root,
      );
    return this.additional;
  }
}

/** The node for a set of subschemas (non-schemas such as `true` are ignored), if any apply. */
function nodeFor(candidates: readonly unknown[], root: Schema): Node | undefined {
  const found = new Set<Schema>();
  const pending = candidates.filter(isSchema);
  // Iterative expansion of `$ref` (local only) and allOf/anyOf/oneOf: a redactor errs on the
  // side of redacting, so a property sensitive in any branch is redacted.
  while (pending.length > 0) {
    const schema = pending.pop()!;
    if (found.has(schema)) continue;
    found.add(schema);
    if (typeof schema.$ref === 'string') {
      const target = resolvePointer(root, schema.$ref);
      if (target) pending.push(target);
    }
    for (const keyword of APPLICATORS) {
      const list = schema[keyword];
      if (Array.isArray(list)) pending.push(...list.filter(isSchema));
    }
  }
  return found.size === 0 ? undefined : new Node([...found], root);
}

/** Resolves `#` or `#/a/b` against the root schema; anything else (remote refs) is ignored. */
function resolvePointer(root: Schema, ref: string): Schema | undefined {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let at: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isSchema(at) || !Object.hasOwn(at, part)) return undefined;
    at = at[part];
  }
  return isSchema(at) ? at : undefined;
}

/**
 * Compiles the redactor of one tool: `inputSchema` is its JSON Schema (follows `properties`,
 * `additionalProperties`, `items`, `prefixItems`, local `$ref` and `allOf`/`anyOf`/`oneOf`),
 * `redactKeys` the case-insensitive substrings of property names to redact whatever the
 * schema says. The returned function builds a deep copy and never mutates its input.
 */
export function compileRedactor(inputSchema: unknown, redactKeys: readonly string[]): (args: unknown) => unknown {
  const root = isSchema(inputSchema) ? inputSchema : {};
  const top = nodeFor([root], root);
  const patterns = [...new Set(redactKeys.map((k) => k.toLowerCase()).filter((k) => k.length > 0))];
  const keySensitive = (key: string): boolean => {
    const lower = key.toLowerCase();
    return patterns.some((p) => lower.includes(p));
  };

  const copy = (value: unknown, node: Node | undefined, depth: number): unknown => {
    if (node?.sensitive) return REDACTED;
    if (typeof value !== 'object' || value === null) return value;
    if (depth >= MAX_DEPTH) return REDACTED;
    if (Array.isArray(value)) {
      const items: unknown[] = value;
      return items.map((item, i) => copy(item, node?.element(i), depth + 1));
    }
    // fromEntries defines own properties, so a `__proto__` key stays data, not a prototype.
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [
        key,
        keySensitive(key) ? REDACTED : copy(v, node?.child(key), depth + 1),
      ]),
    );
  };
  return (args) => copy(args, top, 0);
}
