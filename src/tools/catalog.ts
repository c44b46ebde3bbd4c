/**
 * The tool catalog: every configured tool compiled once at start (schema validator, handler,
 * wire descriptor), looked up by exact name in a `Map` (SEC-IN-05: no normalisation, and a
 * non-string name never reaches the lookup). Listings are serialised once per distinct
 * (roles, scopes) combination — the only inputs of the visibility policy — and reused.
 */
import { pathToFileURL } from 'node:url';
import { compileRedactor } from '../audit/redact.js';
import type { Principal } from '../auth/principal.js';
import type { GatewayConfig, ToolConfig } from '../config/types.js';
import { ErrorCodes, PortcullisError } from '../errors.js';
import { mayList } from '../policy/authorize.js';
import { closeObjects, compileValidator, createSchemaCompiler } from '../policy/schema.js';
import type { ArgumentValidator } from '../policy/schema.js';
import { extractParamHeaders } from '../protocol/paramHeaders.js';
import type { ParamHeader } from '../protocol/paramHeaders.js';
import { createHttpHandler } from './http/handler.js';
import type { Egress } from './http/runtime.js';
import { createMcpHandler } from './mcp/upstream.js';
import type { ToolHandler } from './types.js';

export interface CompiledTool {
  readonly config: ToolConfig;
  /** The MCP `Tool` object advertised in `tools/list`. */
  readonly descriptor: Readonly<Record<string, unknown>>;
  readonly validate: ArgumentValidator;
  readonly validateOutput: ArgumentValidator | undefined;
  readonly handler: ToolHandler;
  /** The arguments as the audit may store them (sensitive values replaced). */
  readonly redact: (args: unknown) => unknown;
  /** Arguments mirrored into `Mcp-Param-*` headers on 2026-07-28 requests. */
  readonly paramHeaders: readonly ParamHeader[];
}

const LISTING_CACHE_MAX = 1024;

export class ToolCatalog {
  readonly #tools: ReadonlyMap<string, CompiledTool>;
  readonly #listings = new Map<string, string>();

  constructor(tools: readonly CompiledTool[]) {
    this.#tools = new Map(tools.map((t) => [t.config.name, t]));
  }

  /** Exact lookup; anything but a string finds nothing. */
  get(name: unknown): CompiledTool | undefined {
    return typeof name === 'string' ? this.#tools.get(name) : undefined;
  }

  get size(): number {
    return this.#tools.size;
  }

  all(): IterableIterator<CompiledTool> {
    return this.#tools.values();
  }

  /** The JSON text of the `tools` array this principal may see. */
  listingJson(principal: Principal): string {
    const key = `${principal.roles.join('\u0000')}\u0001${[...principal.scopes].sort().join('\u0000')}`;
    let json = this.#listings.get(key);
    if (json === undefined) {
      const visible = [...this.#tools.values()].filter((t) => mayList(principal, t.config)).map((t) => t.descriptor);
      json = JSON.stringify(visible);
      if (this.#listings.size >= LISTING_CACHE_MAX) this.#listings.clear();
      this.#listings.set(key, json);
    }
    return json;
  }
}

/**
 * Compiles the configured tools. `builtins` maps `module.builtin` names to handlers; `egress`
 * serves the `http` tools. Every problem (bad schema, missing handler) is collected and thrown at once.
 */
export async function buildCatalog(
  config: GatewayConfig,
  builtins: ReadonlyMap<string, ToolHandler>,
  extra: readonly { config: ToolConfig; handler: ToolHandler }[] = [],
  egress?: Egress,
): Promise<ToolCatalog> {
  const ajv = createSchemaCompiler();
  const problems: string[] = [];
  const compiled: CompiledTool[] = [];
  const entries = [
    ...config.tools.map((t) => ({ config: t, handler: undefined as ToolHandler | undefined })),
    ...extra,
  ];
  for (const [i, entry] of entries.entries()) {
    const t = entry.config;
    const at = `/tools/${i} (${t.name})`;
    const problemsBefore = problems.length;
    const handler = entry.handler ?? (await resolveHandler(t, builtins, at, problems, config, egress));
    const input = optionalConfirm(t, closeObjects(t.input) as Record<string, unknown>);
    if (input.type !== 'object') problems.push(`${at}/input: a tool's input schema must have type "object"`);
    if (t.tenantArg !== undefined && !hasProperty(input, t.tenantArg)) {
      problems.push(`${at}/tenantArg: '${t.tenantArg}' is not a property of the input schema`);
    }
    if (t.destructive && !hasProperty(input, 'confirm')) {
      problems.push(`${at}/input: a destructive tool must declare a boolean 'confirm' argument`);
    }
    const paramHeaders = extractParamHeaders(input, problems, at);
    let validate: ArgumentValidator | undefined;
    let validateOutput: ArgumentValidator | undefined;
    try {
      validate = compileValidator(ajv, input);
    } catch (err) {
      problems.push(`${at}/input: ${(err as Error).message}`);
    }
    if (t.output !== undefined) {
      try {
        validateOutput = compileValidator(ajv, t.output);
      } catch (err) {
        problems.push(`${at}/output: ${(err as Error).message}`);
      }
    }
    if (problems.length > problemsBefore || !handler || !validate) continue;
    const redact = compileRedactor(input, config.audit.redactKeys);
    compiled.push({
      config: t,
      descriptor: describeTool(t, input),
      validate,
      validateOutput,
      handler,
      paramHeaders,
      redact,
    });
  }
  if (problems.length > 0) {
    throw new PortcullisError(ErrorCodes.TOOL_LOAD, `${problems.length} tool problem(s)`, problems);
  }
  return new ToolCatalog(compiled);
}

async function resolveHandler(
  t: ToolConfig,
  builtins: ReadonlyMap<string, ToolHandler>,
  at: string,
  problems: string[],
  config: GatewayConfig,
  egress: Egress | undefined,
): Promise<ToolHandler | undefined> {
  const b = t.backend;
  if (b.kind === 'http') {
    const upstream = Object.hasOwn(config.upstreams, b.upstream) ? config.upstreams[b.upstream] : undefined;
    if (!upstream || !egress) {
      problems.push(`${at}/http/upstream: no upstream named '${b.upstream}'`);
      return undefined;
    }
    return createHttpHandler(t, upstream, egress);
  }
  if (b.kind === 'mcp') {
    const h = egress && createMcpHandler(t, egress);
    if (!h) problems.push(`${at}/mcp/upstream: no upstream named '${b.upstream}'`);
    return h;
  }
  if (b.builtin !== undefined) {
    const h = builtins.get(b.builtin);
    if (!h) problems.push(`${at}/module/builtin: no built-in handler named '${b.builtin}'`);
    return h;
  }
  if (b.file !== undefined) {
    try {
      const mod = (await import(pathToFileURL(b.file).href)) as Record<string, unknown>;
      const h = mod[b.export ?? 'default'];
      if (typeof h !== 'function') {
        problems.push(`${at}/module: ${b.file} has no function export '${b.export ?? 'default'}'`);
        return undefined;
      }
      return h as ToolHandler;
    } catch (err) {
      problems.push(`${at}/module/file: cannot load ${b.file}: ${(err as Error).message}`);
    }
  }
  return undefined;
}

/**
 * `confirm` is the gateway's own argument, never required by the schema: a client that can ask
 * its user is asked instead (SEC-AZ-07) and need not send it; for one that cannot, the
 * confirmation strategy still insists on `confirm: true` and says so when it is missing.
 */
function optionalConfirm(t: ToolConfig, input: Record<string, unknown>): Record<string, unknown> {
  if (!t.destructive || !Array.isArray(input.required) || !input.required.includes('confirm')) return input;
  return { ...input, required: (input.required as unknown[]).filter((r) => r !== 'confirm') };
}

function hasProperty(schema: Record<string, unknown>, name: string): boolean {
  const props = schema.properties;
  return props !== null && typeof props === 'object' && Object.hasOwn(props, name);
}

/** The advertised `Tool`: the tenant argument is filled in by the gateway, so it is never required of the model. */
function describeTool(t: ToolConfig, input: Record<string, unknown>): Record<string, unknown> {
  let inputSchema = input;
  if (t.tenantArg !== undefined && Array.isArray(input.required)) {
    inputSchema = { ...input, required: (input.required as unknown[]).filter((r) => r !== t.tenantArg) };
  }
  return {
    name: t.name,
    ...(t.title !== undefined && { title: t.title }),
    description: t.description,
    inputSchema,
    ...(t.output !== undefined && { outputSchema: t.output }),
    annotations: {
      ...(t.title !== undefined && { title: t.title }),
      readOnlyHint: t.readOnly,
      destructiveHint: t.destructive,
    },
  };
}
