/**
 * MCP 2026-07-28 (stateless) end to end: the official v2 client, pinned to 2026-07-28, talks to a
 * real gateway on loopback with the demo tools. Covers per-principal listings (SEC-AZ-01),
 * object-level and tenant checks inside calls (SEC-AZ-05, J-30), destructive-tool confirmation
 * (SEC-AZ-07), argument validation (SEC-IN-06, RC-17), and the no-existence-oracle rule for
 * hidden tools (RC-16).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { ProtocolError, SdkHttpError } from '@modelcontextprotocol/client';
import { CallToolResultSchema, DiscoverResultSchema, ListToolsResultSchema } from '@modelcontextprotocol/core';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { connectModern, firstText, MODERN, postModern } from './support.js';

let gw: TestGateway;
let alice: Client;
let carol: Client;

beforeAll(async () => {
  gw = await startGateway();
  alice = await connectModern(gw.mcpUrl, await gw.token('alice'));
  carol = await connectModern(gw.mcpUrl, await gw.token('carol'));
});

afterAll(async () => {
  await alice?.close();
  await carol?.close();
  await gw?.close();
});

/** Calls a tool and returns the result after checking it against the spec's CallToolResult schema. */
async function call(client: Client, name: string, args: Record<string, unknown>) {
  const result = await client.callTool({ name, arguments: args });
  return CallToolResultSchema.parse(result);
}

/** The JSON-RPC error a call ends with (the client rejects with a ProtocolError). */
async function callError(client: Client, name: string, args: Record<string, unknown>): Promise<ProtocolError> {
  const err: unknown = await client.callTool({ name, arguments: args }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProtocolError);
  return err as ProtocolError;
}

describe('the v2 client pinned to 2026-07-28', () => {
  it('negotiates the modern era, and discovery validates against the spec schema', async () => {
    expect(alice.getProtocolEra()).toBe('modern');
    const res = await postModern(gw.mcpUrl, await gw.token('alice'), 'server/discover');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: unknown };
    const discover = DiscoverResultSchema.parse(body.result);
    expect(discover.supportedVersions).toContain(MODERN);
  });
});

describe('the v2 client with a bad token', () => {
  it('fails to connect with HTTP 401 and does not fall back to another era', async () => {
    const err: unknown = await connectModern(gw.mcpUrl, 'not-a-jwt').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SdkHttpError);
    expect((err as SdkHttpError).status).toBe(401);
  });
});

describe('tools/list is computed per principal', () => {
  it('a user sees get_user_profile but not the admin tool deprovision_tenant', async () => {
    const { tools } = ListToolsResultSchema.parse(await alice.listTools());
    const names = tools.map((t) => t.name);
    expect(names).toContain('get_user_profile');
    expect(names).not.toContain('deprovision_tenant');
    expect(names).not.toContain('refund_payment');
    expect(names).not.toContain('get_tenant_usage');
  });

  it('an admin sees both get_user_profile and deprovision_tenant', async () => {
    const { tools } = ListToolsResultSchema.parse(await carol.listTools());
    const names = tools.map((t) => t.name);
    expect(names).toContain('get_user_profile');
    expect(names).toContain('deprovision_tenant');
  });

  it('the tenant argument is never advertised as required', async () => {
    const { tools } = ListToolsResultSchema.parse(await carol.listTools());
    const deprovision = tools.find((t) => t.name === 'deprovision_tenant');
    expect(deprovision?.inputSchema.required ?? []).not.toContain('tenantId');
  });
});

describe('object-level authorization inside a tool', () => {
  it('alice reads her own profile as structured content', async () => {
    const r = await call(alice, 'get_user_profile', { userId: 'alice' });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ id: 'alice', tenantId: 'acme' });
  });

  it("alice reading carol's profile gets isError, the same text as for a missing user", async () => {
    const forbidden = await call(alice, 'get_user_profile', { userId: 'carol' });
    const missing = await call(alice, 'get_user_profile', { userId: 'nobody' });
    expect(forbidden.isError).toBe(true);
    expect(forbidden.structuredContent).toBeUndefined();
    expect(firstText(forbidden)).toBe(firstText(missing));
  });

  it("carol, an admin of acme, cannot read bob's profile in globex", async () => {
    const r = await call(carol, 'get_user_profile', { userId: 'bob' });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toBeUndefined();
  });

  it("carol, an admin, reads alice's profile in her own tenant", async () => {
    const r = await call(carol, 'get_user_profile', { userId: 'alice' });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ id: 'alice', tenantId: 'acme' });
  });
});

describe('argument validation answers isError naming the field, never the value', () => {
  it('a missing required argument is named', async () => {
    const r = await call(alice, 'get_user_profile', {});
    expect(r.isError).toBe(true);
    expect(firstText(r)).toMatch(/missing required argument 'userId'/);
  });

  it('an extra argument is named', async () => {
    const r = await call(alice, 'get_user_profile', { userId: 'alice', isAdmin: true });
    expect(r.isError).toBe(true);
    expect(firstText(r)).toMatch(/unexpected argument 'isAdmin'/);
  });

  it('a wrongly typed argument is named, and its value is not echoed', async () => {
    const r = await call(alice, 'get_user_profile', { userId: 4242424242 });
    expect(r.isError).toBe(true);
    expect(firstText(r)).toMatch(/'userId' must be string/);
    expect(firstText(r)).not.toContain('4242424242');
  });

  it('a value outside an enum is named', async () => {
    const r = await call(alice, 'list_invoices', { status: 'stolen' });
    expect(r.isError).toBe(true);
    expect(firstText(r)).toContain('status');
    expect(firstText(r)).not.toContain('stolen');
  });
});

describe('destructive admin tool deprovision_tenant', () => {
  it('carol cannot deprovision another tenant (globex): isError, tenant mismatch', async () => {
    const r = await call(carol, 'deprovision_tenant', { tenantId: 'globex', confirm: true });
    expect(r.isError).toBe(true);
    expect(firstText(r)).toMatch(/tenantId' must be your own tenant/);
  });

  it('carol cannot deprovision acme without the confirm argument: isError asking for "confirm": true', async () => {
    const r = await call(carol, 'deprovision_tenant', { tenantId: 'acme' });
    expect(r.isError).toBe(true);
    expect(firstText(r)).toMatch(/needs explicit confirmation: ask the user, then call again with "confirm": true/);
  });

  it('carol cannot deprovision acme with confirm: false: isError asking for confirmation', async () => {
    const r = await call(carol, 'deprovision_tenant', { tenantId: 'acme', confirm: false });
    expect(r.isError).toBe(true);
    expect(firstText(r)).toMatch(/confirmation/);
  });

  it('carol deprovisions acme with confirm: true', async () => {
    const r = await call(carol, 'deprovision_tenant', { tenantId: 'acme', confirm: true });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({
      tenantId: 'acme',
      status: 'deprovisioned',
      alreadyDeprovisioned: false,
      deprovisionedBy: 'carol',
    });
  });

  it('the tenant argument is filled in from the token when omitted', async () => {
    const r = await call(carol, 'deprovision_tenant', { confirm: true });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ tenantId: 'acme', alreadyDeprovisioned: true });
  });
});

describe('a hidden tool is indistinguishable from a non-existent one (RC-16)', () => {
  it('alice calling deprovision_tenant gets the same -32602 error as for an unknown tool', async () => {
    const hidden = await callError(alice, 'deprovision_tenant', { tenantId: 'acme', confirm: true });
    const unknown = await callError(alice, 'no_such_tool', {});
    expect(hidden.code).toBe(-32602);
    expect(unknown.code).toBe(-32602);
    expect(hidden.message).toBe(unknown.message);
    expect(hidden.data).toEqual(unknown.data);
  });

  it('on the wire both answers are HTTP 200 with byte-identical bodies', async () => {
    const token = await gw.token('alice');
    const hidden = await postModern(gw.mcpUrl, token, 'tools/call', {
      name: 'deprovision_tenant',
      arguments: { confirm: true },
    });
    const unknown = await postModern(gw.mcpUrl, token, 'tools/call', { name: 'no_such_tool', arguments: {} });
    expect(hidden.status).toBe(200);
    expect(unknown.status).toBe(200);
    const [a, b] = [await hidden.text(), await unknown.text()];
    expect(a).toBe(b);
    expect(JSON.parse(a)).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: -32602 } });
  });
});
