/**
 * The `tools:` section, resolved: defaults filled in, the backend (`module`, `http` or `mcp`)
 * normalised, and the checks that span tools (names, upstreams, destructive vs readOnly). Every
 * problem is added with its config path; nothing here throws.
 */
import { checkHttpTool, resolveHttpBackend } from '../tools/http/config.js';
import type { RawHttpBackend } from '../tools/http/config.js';
import { DEFAULTS, TOOL_NAME_PATTERN } from './defaults.js';
import { rate } from './limits.js';
import type { RawRate } from './limits.js';
import type { ToolConfig, UpstreamConfig } from './types.js';

// The raw shape after schema validation (the schema guarantees these types).
export type RawTool = Omit<ToolConfig, 'backend' | 'scopes' | 'destructive' | 'readOnly' | 'timeoutMs'> & {
  scopes?: string[];
  destructive?: boolean;
  readOnly?: boolean;
  timeoutMs?: number;
  clientCapabilities?: string[];
  rateLimit?: RawRate;
  globalRateLimit?: RawRate;
  module?: { builtin?: string; file?: string; export?: string };
  http?: RawHttpBackend;
  mcp?: { upstream: string; tool: string; pin?: string };
};

export function resolveTools(
  raw: readonly RawTool[],
  upstreams: Readonly<Record<string, UpstreamConfig>>,
  abs: (p: string) => string,
  problems: string[],
): ToolConfig[] {
  const tools: ToolConfig[] = raw.map((t) => ({
    name: t.name,
    ...(t.title !== undefined && { title: t.title }),
    description: t.description,
    input: t.input,
    ...(t.output !== undefined && { output: t.output }),
    roles: t.roles,
    scopes: t.scopes ?? [],
    ...(t.tenantArg !== undefined && { tenantArg: t.tenantArg }),
    destructive: t.destructive ?? false,
    readOnly: t.readOnly ?? false,
    timeoutMs: t.timeoutMs ?? DEFAULTS.tool.timeoutMs,
    ...(t.clientCapabilities !== undefined && { clientCapabilities: t.clientCapabilities }),
    ...(t.rateLimit !== undefined && { rateLimit: rate(t.rateLimit) }),
    ...(t.globalRateLimit !== undefined && { globalRateLimit: rate(t.globalRateLimit) }),
    backend: t.mcp
      ? { kind: 'mcp', upstream: t.mcp.upstream, tool: t.mcp.tool, ...(t.mcp.pin !== undefined && { pin: t.mcp.pin }) }
      : t.http
        ? resolveHttpBackend(t.http)
        : {
            kind: 'module',
            ...(t.module?.builtin !== undefined && { builtin: t.module.builtin }),
            ...(t.module?.file !== undefined && { file: abs(t.module.file) }),
            ...(t.module?.export !== undefined && { export: t.module.export }),
          },
  }));
  tools.forEach((t, i) => {
    if (t.backend.kind === 'http') checkHttpTool(t, t.backend, upstreams, `/tools/${i}`, problems);
    if (t.backend.kind === 'mcp' && !Object.hasOwn(upstreams, t.backend.upstream)) {
      problems.push(`/tools/${i}/mcp/upstream: no upstream named '${t.backend.upstream}'`);
    }
  });
  const names = new Set<string>();
  tools.forEach((t, i) => {
    if (!TOOL_NAME_PATTERN.test(t.name)) problems.push(`/tools/${i}/name: invalid tool name`);
    if (names.has(t.name)) problems.push(`/tools/${i}/name: duplicate tool name ${t.name}`);
    names.add(t.name);
    if (t.destructive && t.readOnly) problems.push(`/tools/${i}: a tool cannot be both destructive and readOnly`);
  });
  return tools;
}
