/**
 * Names of imported tools and of their arguments. Tool names come from `operationId` (or the
 * method and path), restricted to `[A-Za-z0-9_-]` — a subset of the gateway's tool-name pattern
 * (SEC-IN-05) that model APIs also accept in function names — and made unique with a suffix.
 */
import { FORBIDDEN_NAMES } from './keywords.js';

export const MAX_TOOL_NAME = 128;
export const MAX_ARG_NAME = 64;

/** Hands out unique names: `name`, then `name_2`, `name_3`, … (within `max` characters). */
export class UniqueNames {
  readonly #used = new Set<string>();

  constructor(readonly max: number) {}

  has(name: string): boolean {
    return this.#used.has(name);
  }

  reserve(name: string): void {
    this.#used.add(name);
  }

  /** `base` if free, else `base` with the first free `_N` suffix (the base shortened to fit). */
  take(base: string): string {
    let name = base.slice(0, this.max);
    for (let n = 2; this.#used.has(name); n++) {
      const suffix = `_${n}`;
      name = base.slice(0, this.max - suffix.length) + suffix;
    }
    this.#used.add(name);
    return name;
  }
}

/** A tool name from an operationId, or from `method` and `path` when there is none. */
export function toolBaseName(prefix: string, operationId: string | undefined, method: string, path: string): string {
  const raw = operationId ?? `${method}_${path.replace(/[{}]/g, '')}`;
  const cleaned = raw
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '');
  return `${prefix}${cleaned || method}`;
}

/** An argument name for a parameter: the spec's name where it is safe, `[A-Za-z0-9_.-]` otherwise. */
export function argBaseName(paramName: string): string {
  const cleaned = paramName.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, MAX_ARG_NAME);
  if (cleaned === '' || /^[._-]*$/.test(cleaned)) return 'param';
  return FORBIDDEN_NAMES.has(cleaned) ? `${cleaned}_param` : cleaned;
}
