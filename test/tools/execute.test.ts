/** Tool execution: failures become safe isError results with a correlation id, never throws. */
import { describe, expect, it } from 'vitest';
import { principalKey } from '../../src/auth/principal.js';
import type { GatewayConfig, ToolConfig } from '../../src/config/types.js';
import { confirmFlagStrategy } from '../../src/policy/confirm.js';
import { buildCatalog } from '../../src/tools/catalog.js';
import { executeTool } from '../../src/tools/execute.js';
import { signalCancellation } from '../../src/protocol/cancellation.js';
import type { ToolHandler } from '../../src/tools/types.js';

const principal = {
  issuer: 'urn:test',
  user: 'alice',
  tenant: 'acme',
  roles: ['user'],
  scopes: new Set<string>(),
  expiresAt: 0,
  key: principalKey('urn:test', 'alice', 'acme'),
};

function tool(name: string, extra: Partial<ToolConfig> = {}): ToolConfig {
  return {
    name,
    description: name,
    input: { type: 'object', properties: { tenantId: { type: 'string' }, confirm: { type: 'boolean' } } },
    roles: ['user'],
    scopes: [],
    tenantArg: 'tenantId',
    destructive: false,
    readOnly: false,
    timeoutMs: 50,
    backend: { kind: 'module', builtin: `t.${name}` },
    ...extra,
  };
}

const handlers: Record<string, ToolHandler> = {
  ok: (args) => ({ content: [{ type: 'text', text: JSON.stringify(args) }] }),
  hangs: () => new Promise(() => undefined),
  throws: () => {
    throw new Error('SELECT * FROM secrets at /srv/app/db.ts:42');
  },
  malformed: () => ({ nope: true }) as never,
  structured: () => ({ content: [], structuredContent: { n: 'not a number' } }),
};

async function run(
  name: string,
  args: Record<string, unknown>,
  extra: Partial<ToolConfig> = {},
  signal = new AbortController().signal,
) {
  const config = { tools: [tool(name, extra)], audit: { redactKeys: [] } } as unknown as GatewayConfig;
  const catalog = await buildCatalog(config, new Map(Object.entries(handlers).map(([k, h]) => [`t.${k}`, h])));
  const errors: unknown[] = [];
  const outcome = await executeTool(catalog.get(name)!, args, {
    principal,
    requestId: 'req-1',
    cancellation: signalCancellation(signal),
    confirmation: confirmFlagStrategy,
    log: () => undefined,
    progress: () => undefined,
    onError: (e) => errors.push(e),
  });
  return { outcome, errors, text: outcome.result.content.map((c) => ('text' in c ? c.text : '')).join('') };
}

describe('executeTool', () => {
  it('runs the handler with the tenant filled in from the principal', async () => {
    const { outcome, text } = await run('ok', {});
    expect(outcome.outcome).toBe('ok');
    expect(JSON.parse(text)).toEqual({ tenantId: 'acme' });
  });

  it('times out a hanging handler into an isError result', async () => {
    const { outcome, text } = await run('hangs', {});
    expect(outcome).toMatchObject({ outcome: 'error', reason: 'timeout', result: { isError: true } });
    expect(text).toBe('The tool timed out (ref req-1)');
  });

  it('turns a throwing handler into a generic error with no internals', async () => {
    const { outcome, errors, text } = await run('throws', {});
    expect(outcome.reason).toBe('handler_threw');
    expect(text).toBe('The tool failed (ref req-1)');
    expect(errors).toHaveLength(1);
  });

  it('refuses a malformed handler result', async () => {
    expect((await run('malformed', {})).outcome.reason).toBe('malformed_result');
  });

  it('SEC-OUT-04 refuses structured content that does not match the output schema', async () => {
    const r = await run('structured', {}, { output: { type: 'object', properties: { n: { type: 'number' } } } });
    expect(r.outcome.reason).toBe('output_schema_mismatch');
  });

  it('cancels when the caller goes away', async () => {
    const ac = new AbortController();
    const pending = run('hangs', {}, { timeoutMs: 10_000 }, ac.signal);
    setTimeout(() => ac.abort(), 10);
    expect((await pending).outcome.reason).toBe('cancelled');
  });

  it('requires confirmation for a destructive tool', async () => {
    expect((await run('ok', {}, { destructive: true })).outcome).toMatchObject({
      outcome: 'denied',
      reason: 'confirmation_required',
    });
    expect((await run('ok', { confirm: true }, { destructive: true })).outcome.outcome).toBe('ok');
  });

  it('denies another tenant before validation runs', async () => {
    expect((await run('ok', { tenantId: 'globex' })).outcome).toMatchObject({
      outcome: 'denied',
      reason: 'tenant_mismatch',
    });
  });
});

describe('buildCatalog', () => {
  it('lists every problem of every tool at once', async () => {
    const config = {
      tools: [
        tool('a', { input: { type: 'object', properties: { x: { type: 'strin' } } } }),
        tool('b', { backend: { kind: 'module', builtin: 'missing' } }),
        tool('c', { tenantArg: 'org', destructive: true, input: { type: 'object', properties: {} } }),
      ],
      audit: { redactKeys: [] },
    } as unknown as GatewayConfig;
    await expect(buildCatalog(config, new Map())).rejects.toMatchObject({
      code: 'PORTCULLIS_E_TOOL_LOAD',
      problems: expect.arrayContaining([
        expect.stringMatching(/\/tools\/0 \(a\)\/input/),
        expect.stringMatching(/no built-in handler named 'missing'/),
        expect.stringMatching(/'org' is not a property/),
        expect.stringMatching(/destructive tool must declare a boolean 'confirm'/),
      ]),
    });
  });

  it('V-17 looks tools up by exact string only', async () => {
    const catalog = await buildCatalog(
      { tools: [tool('ok')], audit: { redactKeys: [] } } as unknown as GatewayConfig,
      new Map([['t.ok', handlers.ok!]]),
    );
    expect(catalog.get('ok')).toBeDefined();
    expect(catalog.get(['ok'])).toBeUndefined();
    expect(catalog.get('OK')).toBeUndefined();
    expect(catalog.get('ｏｋ')).toBeUndefined();
    expect(catalog.get('ok ')).toBeUndefined();
    expect(catalog.get('__proto__')).toBeUndefined();
  });
});
