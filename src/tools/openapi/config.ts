/**
 * The config's `openapi:` entries, expanded at load time into ordinary `tools:` entries with an
 * `http` backend, which are then validated and resolved exactly like hand-written tools. The spec
 * text is never `${env:…}`-interpolated (a spec must not be able to read the environment).
 */
import path from 'node:path';
import { escapeLogString } from '../../audit/escape.js';
import { OpenApiError } from './documents.js';
import type { OperationSelector } from './filter.js';
import { importOpenApi } from './import.js';
import type { GeneratedTool } from './types.js';

/** One `openapi:` entry as the config schema admits it. */
export interface RawOpenApiEntry {
  spec: string;
  upstream: string;
  roles?: string[];
  roleMap?: Record<string, string[]>;
  prefix?: string;
  include?: OperationSelector;
  exclude?: OperationSelector;
}

export interface ExpandedTools {
  readonly tools: GeneratedTool[];
  /** For each generated tool, how problems about it are labelled: `/openapi/0 (toolName)`. */
  readonly labels: string[];
}

/**
 * Imports every entry's spec (resolved against `baseDir`). A spec that cannot be used is one
 * problem at `/openapi/<i>/spec`; its entry contributes no tools.
 */
export function expandOpenApi(
  entries: readonly RawOpenApiEntry[],
  baseDir: string,
  upstreams: ReadonlySet<string> | undefined,
  problems: string[],
): ExpandedTools {
  const tools: GeneratedTool[] = [];
  const labels: string[] = [];
  entries.forEach((entry, i) => {
    const at = `/openapi/${i}`;
    if (upstreams && !upstreams.has(entry.upstream)) {
      problems.push(`${at}/upstream: no upstream named '${entry.upstream}'`);
      return;
    }
    try {
      const result = importOpenApi(path.resolve(baseDir, entry.spec), {
        upstream: entry.upstream,
        ...(entry.roles && { roles: entry.roles }),
        ...(entry.roleMap && { roleMap: entry.roleMap }),
        ...(entry.prefix !== undefined && { prefix: entry.prefix }),
        filter: { ...(entry.include && { include: entry.include }), ...(entry.exclude && { exclude: entry.exclude }) },
      });
      if (result.tools.length === 0) problems.push(`${at}: the spec yields no operations (check include/exclude)`);
      for (const t of result.tools) {
        tools.push(t);
        labels.push(`${at} (${t.name})`);
      }
    } catch (err) {
      if (!(err instanceof OpenApiError)) throw err;
      problems.push(`${at}/spec: ${escapeLogString(err.message)}`);
    }
  });
  return { tools, labels };
}

/**
 * Rewrites `/tools/<n>…` in problems about generated tools (those at index `first` and beyond)
 * to the `openapi:` entry and tool name they came from.
 */
export function relabelProblems(problems: readonly string[], first: number, labels: readonly string[]): string[] {
  if (labels.length === 0) return [...problems];
  return problems.map((p) =>
    p.replace(/^\/tools\/(\d+)/, (whole, n: string) => {
      const label = labels[Number(n) - first];
      return Number(n) >= first && label !== undefined ? label : whole;
    }),
  );
}
