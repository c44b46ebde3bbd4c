/**
 * Which operations an import keeps: `include` (when given, an operation must match one of its
 * tags, paths or operationIds) minus `exclude` (any match drops it). A path pattern without `*`
 * matches that path and everything under it (`/repos` matches `/repos/{owner}/{repo}`); with
 * `*` it is a glob over the whole path, `*` within one segment and `**` across segments.
 */

export interface OperationSelector {
  readonly tags?: readonly string[];
  readonly paths?: readonly string[];
  readonly operations?: readonly string[];
}

export interface OperationFilter {
  readonly include?: OperationSelector;
  readonly exclude?: OperationSelector;
}

export interface OperationRef {
  readonly path: string;
  readonly tags: readonly string[];
  readonly operationId: string | undefined;
}

type Matcher = (op: OperationRef) => boolean;

/** Compiles a filter once (patterns become regular expressions). */
export function compileFilter(filter: OperationFilter): Matcher {
  const include = filter.include && selector(filter.include);
  const exclude = filter.exclude && selector(filter.exclude);
  return (op) => (include === undefined || include(op)) && !(exclude?.(op) ?? false);
}

function selector(sel: OperationSelector): Matcher | undefined {
  const tags = new Set(sel.tags ?? []);
  const ops = new Set(sel.operations ?? []);
  const paths = (sel.paths ?? []).map(pathPattern);
  if (tags.size === 0 && ops.size === 0 && paths.length === 0) return undefined;
  return (op) =>
    op.tags.some((t) => tags.has(t)) ||
    (op.operationId !== undefined && ops.has(op.operationId)) ||
    paths.some((re) => re.test(op.path));
}

function pathPattern(pattern: string): RegExp {
  if (!pattern.includes('*')) {
    const base = escape(pattern.replace(/\/+$/, ''));
    return new RegExp(`^${base}(?:/.*)?$`);
  }
  const body = pattern
    .split('**')
    .map((part) => part.split('*').map(escape).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
