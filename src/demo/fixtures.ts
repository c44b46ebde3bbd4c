/**
 * Optional fixture tools (`demo.fixtures: true`) that let the MCP conformance suite exercise the
 * gateway's own protocol layer: per-request logging, progress on a request's SSE stream, and the
 * refusal of a tool whose required client capability was not declared (-32021). They are named
 * as the suite's reference server names them (conformance `everything-server.ts`).
 */
import type { ToolConfig } from '../config/types.js';
import type { ToolHandler } from '../tools/types.js';

const emptyInput = { type: 'object', properties: {} } as const;
const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });

function fixture(
  name: string,
  description: string,
  roles: readonly string[],
  extra: Partial<ToolConfig> = {},
): ToolConfig {
  return {
    name,
    description,
    input: emptyInput,
    roles,
    scopes: [],
    destructive: false,
    readOnly: true,
    timeoutMs: 10_000,
    backend: { kind: 'module', builtin: `fixture.${name}` },
    ...extra,
  };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

const handlers: Record<string, ToolHandler> = {
  test_simple_text: () => text('This is a simple text response for testing.'),
  test_logging_tool: async (_args, ctx) => {
    for (const step of ['starting', 'working', 'done']) {
      ctx.log('info', `test_logging_tool: ${step}`);
      await sleep(10, ctx.signal);
    }
    return text('Logged three messages (only sent when the request asked for a log level).');
  },
  test_tool_with_logging: async (_args, ctx) => {
    for (const step of ['Tool execution started', 'Tool processing data', 'Tool execution completed']) {
      ctx.log('info', step);
      await sleep(20, ctx.signal);
    }
    return text('Tool with logging executed successfully');
  },
  test_tool_with_progress: async (_args, ctx) => {
    for (const p of [0, 50, 100]) {
      ctx.progress(p, 100, `Completed step ${p}`);
      await sleep(20, ctx.signal);
    }
    return text('Progress reported');
  },
  test_streaming_elicitation: async (_args, ctx) => {
    ctx.progress(1, 2, 'Working');
    await sleep(10, ctx.signal);
    return text('Streamed a progress notification, then this result; no server-to-client request.');
  },
  test_missing_capability: () => text('The client declared the sampling capability.'),
  test_param_header: (args) =>
    text(`Region ${typeof args.region === 'string' ? args.region : 'none'} matched its Mcp-Param-Region header.`),
  test_error_handling: () => ({
    content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
    isError: true,
  }),
};

/** The fixture tool definitions and handlers, visible to every role in `roles`. */
export function fixtureTools(roles: readonly string[]): { config: ToolConfig; handler: ToolHandler }[] {
  const defs: ToolConfig[] = [
    fixture('test_simple_text', 'Returns a simple text result.', roles),
    fixture('test_logging_tool', 'Sends log messages while running, when the request asks for them.', roles),
    fixture('test_tool_with_logging', 'Sends three log messages while running.', roles),
    fixture('test_tool_with_progress', 'Reports progress while running.', roles),
    fixture('test_streaming_elicitation', 'Streams a progress notification before its result.', roles),
    fixture('test_missing_capability', 'Needs the client sampling capability.', roles, {
      clientCapabilities: ['sampling'],
    }),
    fixture('test_error_handling', 'Always returns a tool error.', roles),
    fixture('test_param_header', 'Echoes a region argument mirrored in the Mcp-Param-Region header.', roles, {
      input: {
        type: 'object',
        properties: { region: { type: 'string', maxLength: 64, 'x-mcp-header': 'Region' } },
      },
    }),
  ];
  return defs.map((config) => ({ config, handler: handlers[config.name]! }));
}
