/**
 * Human confirmation of destructive tools end to end (SEC-AZ-07, DESIGN "Tools"), with the
 * official clients answering as the user would: the v2 client on 2026-07-28 (InputRequiredResult
 * fulfilled through its `elicitation/create` handler, then retried with `requestState`), the v1
 * client on a 2025-11-25 session and on the 2024-11-05 HTTP+SSE transport (`elicitation/create`
 * sent by the gateway). A client without the `elicitation` capability keeps `confirm: true`,
 * which the audit records as asserted by the model.
 *
 * Whether the tool ran is read from the audit: a destructive tool's `tool.intent` is durable just
 * before its handler starts, and only then.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { CallToolResultSchema } from '@modelcontextprotocol/core';
import type { AuditEvent } from '../../src/audit/types.js';
import { storedEvents } from '../audit/helpers.js';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { CLIENT_INFO, MODERN, connectModern, connectStreamable, firstText } from './support.js';

const TOOL = 'deprovision_tenant';
const ACCEPT: ElicitResult = { action: 'accept', content: { confirm: true } };

/** What the user was shown, and the answer they give. */
interface User {
  asked: { message?: unknown; requestedSchema?: unknown; mode?: unknown }[];
  answer: ElicitResult;
}

const user = (answer: ElicitResult): User => ({ asked: [], answer });

let g: TestGateway;
const closers: (() => Promise<void>)[] = [];

beforeEach(async () => {
  g = await startGateway({ extraYaml: 'audit:\n  instance: confirm-1' });
});
afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  await g.close();
});

function events(tool = TOOL): AuditEvent[] {
  return storedEvents(path.join(g.dir, 'audit.sqlite'), 'confirm-1').filter((e) => e.tool === tool);
}
const intents = (): AuditEvent[] => events().filter((e) => e.event === 'tool.intent');

/** The v2 client on 2026-07-28, declaring form elicitation and answering as `u`. */
async function modernWithUser(token: string, u: User): Promise<ModernClient> {
  const client = new ModernClient(CLIENT_INFO, {
    capabilities: { elicitation: { form: {} } },
    versionNegotiation: { mode: { pin: MODERN } },
  });
  client.setRequestHandler('elicitation/create', (request) => {
    u.asked.push(request.params);
    return u.answer;
  });
  await client.connect(
    new ModernTransport(new URL(g.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }),
  );
  closers.push(() => client.close());
  return client;
}

/** The v1 client on a 2025-11-25 session (or the 2024 SSE transport), declaring elicitation. */
async function legacyWithUser(token: string, u: User, transport: 'streamable' | 'sse'): Promise<LegacyClient> {
  const client = new LegacyClient(CLIENT_INFO, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, (request) => {
    u.asked.push(request.params);
    return u.answer;
  });
  const init = { requestInit: { headers: { Authorization: `Bearer ${token}` } } };
  await client.connect(
    transport === 'sse'
      ? new SSEClientTransport(new URL(`${g.url}/mcp/sse`), init)
      : new LegacyTransport(new URL(g.mcpUrl), init),
  );
  closers.push(() => client.close());
  return client;
}

type CallTool = (args: Record<string, unknown>) => Promise<unknown>;

/** The same behaviour on every era that can ask the user. */
const eras: [string, (u: User) => Promise<CallTool>][] = [
  [
    '2026-07-28 (v2 client, InputRequiredResult)',
    async (u) => {
      const c = await modernWithUser(await g.token('carol'), u);
      return (args) => c.callTool({ name: TOOL, arguments: args });
    },
  ],
  [
    '2025-11-25 session (v1 client, elicitation/create)',
    async (u) => {
      const c = await legacyWithUser(await g.token('carol'), u, 'streamable');
      return (args) => c.callTool({ name: TOOL, arguments: args });
    },
  ],
  [
    '2024-11-05 HTTP+SSE (v1 client, elicitation/create)',
    async (u) => {
      const c = await legacyWithUser(await g.token('carol'), u, 'sse');
      return (args) => c.callTool({ name: TOOL, arguments: args });
    },
  ],
];

describe.each(eras)('%s', (_era, connect) => {
  it('asks the user once, with a single boolean, and runs the tool once when they accept', async () => {
    const u = user(ACCEPT);
    const call = await connect(u);
    const r = CallToolResultSchema.parse(await call({ tenantId: 'acme', confirm: true }));
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ tenantId: 'acme', alreadyDeprovisioned: false });
    expect(u.asked).toHaveLength(1);
    expect(u.asked[0]?.message).toEqual(expect.stringContaining(TOOL));
    expect(u.asked[0]?.requestedSchema).toEqual({
      type: 'object',
      properties: { confirm: expect.objectContaining({ type: 'boolean' }) },
      required: ['confirm'],
    });
    expect(intents()).toHaveLength(1);
    expect(intents()[0]).toMatchObject({ user: 'carol', reason: 'confirmed_by_user' });
    expect(events().filter((e) => e.event === 'tool.called' && e.outcome === 'ok')).toEqual([
      expect.objectContaining({ user: 'carol', reason: 'confirmed_by_user' }),
    ]);
  });

  it.each([
    ['declines', { action: 'decline' }, /declined/, 'confirmation_declined'],
    ['cancels', { action: 'cancel' }, /dismissed/, 'confirmation_cancelled'],
    [
      'accepts without ticking the box',
      { action: 'accept', content: { confirm: false } },
      /declined/,
      'confirmation_declined',
    ],
  ] as const)(
    'the tool does not run when the user %s, even with confirm: true from the model',
    async (_what, answer, text, reason) => {
      const u = user(answer);
      const call = await connect(u);
      const r = CallToolResultSchema.parse(await call({ tenantId: 'acme', confirm: true }));
      expect(r.isError).toBe(true);
      expect(firstText(r)).toMatch(text);
      expect(firstText(r)).toMatch(/\(ref [^)]+\)$/);
      expect(u.asked).toHaveLength(1);
      expect(intents()).toEqual([]);
      expect(
        events()
          .filter((e) => e.event === 'tool.called')
          .at(-1),
      ).toMatchObject({ outcome: 'denied', reason });
      // The tenant is untouched: accepting now deprovisions it for the first time.
      u.answer = ACCEPT;
      const later = CallToolResultSchema.parse(await call({ tenantId: 'acme', confirm: true }));
      expect(later.structuredContent).toMatchObject({ alreadyDeprovisioned: false });
    },
  );
});

describe('clients that cannot ask their user keep confirm: true, asserted by the model', () => {
  it('2026-07-28 without the elicitation capability', async () => {
    const client = await connectModern(g.mcpUrl, await g.token('carol'));
    closers.push(() => client.close());
    const refused = CallToolResultSchema.parse(
      await client.callTool({ name: TOOL, arguments: { tenantId: 'acme', confirm: false } }),
    );
    expect(refused.isError).toBe(true);
    expect(firstText(refused)).toMatch(/"confirm": true/);
    const r = CallToolResultSchema.parse(
      await client.callTool({ name: TOOL, arguments: { tenantId: 'acme', confirm: true } }),
    );
    expect(r.isError).toBeFalsy();
    expect(intents()).toEqual([expect.objectContaining({ reason: 'confirmed_by_model' })]);
    expect(
      events()
        .filter((e) => e.event === 'tool.called')
        .map((e) => [e.outcome, e.reason]),
    ).toEqual([
      ['denied', 'confirmation_required'],
      ['ok', 'confirmed_by_model'],
    ]);
  });

  it('a 2025 session without the elicitation capability', async () => {
    const { client } = await connectStreamable(g.mcpUrl, await g.token('carol'));
    closers.push(() => client.close());
    const r = CallToolResultSchema.parse(
      await client.callTool({ name: TOOL, arguments: { tenantId: 'acme', confirm: true } }),
    );
    expect(r.isError).toBeFalsy();
    expect(events().filter((e) => e.event === 'tool.called')).toEqual([
      expect.objectContaining({ outcome: 'ok', reason: 'confirmed_by_model' }),
    ]);
  });

  it('url-only elicitation cannot show a form: the flag decides', async () => {
    const client = new LegacyClient(CLIENT_INFO, { capabilities: { elicitation: { url: {} } } });
    await client.connect(
      new LegacyTransport(new URL(g.mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${await g.token('carol')}` } },
      }),
    );
    closers.push(() => client.close());
    const r = CallToolResultSchema.parse(
      await client.callTool({ name: TOOL, arguments: { tenantId: 'acme', confirm: true } }),
    );
    expect(r.isError).toBeFalsy();
    expect(intents()).toEqual([expect.objectContaining({ reason: 'confirmed_by_model' })]);
  });
});

describe('2026-07-28 audit of the round trip', () => {
  it('the first leg is recorded as waiting for the user, the retry as confirmed by the user', async () => {
    const client = await modernWithUser(await g.token('carol'), user(ACCEPT));
    await client.callTool({ name: TOOL, arguments: { tenantId: 'acme', confirm: true } });
    expect(events().map((e) => [e.event, e.outcome, e.reason])).toEqual([
      ['tool.called', 'denied', 'confirmation_requested'],
      ['tool.intent', null, 'confirmed_by_user'],
      ['tool.called', 'ok', 'confirmed_by_user'],
    ]);
  });
});
