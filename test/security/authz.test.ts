/**
 * SECURITY.md B.3 — authorization and tenancy attacks (Z- rows) on a real gateway: per-principal
 * listings, policy re-checked with the current token, scope challenges, tenant smuggling at any
 * depth and through side channels, and object access across tenants. The test tools record what
 * reaches them, so "the backend sees tenant A only" is checked where the backend runs.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedEvents } from '../audit/helpers.js';
import { loadConfigText } from '../../src/config/load.js';
import type { PortcullisError } from '../../src/errors.js';
import { postModern, modernHeaders, modernParams } from '../integration/support.js';
import { openSession, rpcOn, seenCalls, startSecurityGateway } from './support/session.js';
import type { SecurityGateway } from './support/session.js';

const INSTANCE = 'sec-authz';
const ADMIN_TOOLS = ['refund_payment', 'deprovision_tenant', 'get_tenant_usage'];
const UNKNOWN_TOOL = { code: -32602, message: 'Unknown tool' };

let gw: SecurityGateway;

beforeAll(async () => {
  gw = await startSecurityGateway({ extraYaml: `audit:\n  instance: ${INSTANCE}` });
});

afterAll(async () => {
  await gw?.close();
});

interface RpcBody {
  id?: unknown;
  result?: { tools?: { name: string; description: string }[]; isError?: boolean; content?: { text?: string }[] };
  error?: { code: number; message: string };
}

/** A 2026-07-28 tools/call; `meta` is merged into the required `_meta`, `query` appended to the URL. */
async function call(
  token: string,
  name: string,
  args: Record<string, unknown>,
  opts: { headers?: Record<string, string>; meta?: Record<string, unknown>; query?: string } = {},
): Promise<{ res: Response; body: RpcBody }> {
  const params = modernParams({ name, arguments: args });
  params._meta = { ...(params._meta as Record<string, unknown>), ...opts.meta };
  const res = await fetch(`${gw.mcpUrl}${opts.query ?? ''}`, {
    method: 'POST',
    headers: modernHeaders(token, 'tools/call', { 'mcp-name': name, ...opts.headers }),
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params }),
  });
  return { res, body: (await res.json()) as RpcBody };
}

async function listModern(token: string): Promise<{ res: Response; text: string }> {
  const res = await postModern(gw.mcpUrl, token, 'tools/list');
  return { res, text: await res.text() };
}

const names = (text: string): string[] => ((JSON.parse(text) as RpcBody).result?.tools ?? []).map((t) => t.name);
const textOf = (body: RpcBody): string => body.result?.content?.[0]?.text ?? '';
const withoutRef = (text: string): string => text.replace(/ ?\(ref [^)]*\)/, '');

async function auditEvents(): Promise<ReturnType<typeof storedEvents>> {
  await gw.gateway.audit.commit({ event: 'config.loaded', reason: 'test flush' });
  return storedEvents(path.join(gw.dir, 'audit.sqlite'), INSTANCE);
}

describe('B.3 visibility and the current token', () => {
  it('Z-01 tools/list as a user shows no admin tool names or descriptions, with Cache-Control: no-store', async () => {
    const adminList = await listModern(await gw.token('carol'));
    const adminDescriptions = ((JSON.parse(adminList.text) as RpcBody).result?.tools ?? [])
      .filter((t) => ADMIN_TOOLS.includes(t.name))
      .map((t) => t.description);
    expect(adminDescriptions).toHaveLength(ADMIN_TOOLS.length);

    const { res, text } = await listModern(await gw.token('alice'));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(names(text)).toEqual(expect.arrayContaining(['get_user_profile', 'list_invoices']));
    for (const n of ADMIN_TOOLS) expect(text).not.toContain(n);
    for (const d of adminDescriptions) expect(text).not.toContain(d.slice(0, 40));
    expect((JSON.parse(text) as { result: { cacheScope?: string } }).result.cacheScope).toBe('private');

    // Principals alternating on the same endpoint never get each other's listing.
    expect(names((await listModern(await gw.token('carol'))).text)).toEqual(expect.arrayContaining(ADMIN_TOOLS));
    expect(names((await listModern(await gw.token('bob'))).text).some((n) => ADMIN_TOOLS.includes(n))).toBe(false);
  });

  it('Z-01 a 2025 session lists with the current token, not the one that opened it', async () => {
    const id = await openSession(gw.mcpUrl, await gw.token('carol'));
    const first = await rpcOn(gw.mcpUrl, await gw.token('carol'), id, 'tools/list');
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(names(await first.text())).toEqual(expect.arrayContaining(ADMIN_TOOLS));
    const demoted = await rpcOn(gw.mcpUrl, await gw.token('carol', { roles: ['user'] }), id, 'tools/list');
    expect(demoted.status).toBe(200);
    const text = await demoted.text();
    for (const n of ADMIN_TOOLS) expect(text).not.toContain(n);
  });

  it('Z-03 a role removed at the IdP: the new token calling the tool gets RC-16, byte-identical to an unknown tool', async () => {
    const before = await call(await gw.token('carol'), 'get_tenant_usage', {});
    expect(before.body.result?.isError).toBeUndefined();
    const demoted = await gw.token('carol', { roles: ['user'] });
    const revoked = await call(demoted, 'get_tenant_usage', {});
    const unknown = await call(demoted, 'no_such_tool', {});
    expect(revoked.res.status).toBe(200);
    expect(revoked.body).toEqual({ jsonrpc: '2.0', id: 1, error: UNKNOWN_TOOL });
    expect(revoked.body).toEqual(unknown.body);

    // The same on a 2025 session opened while the role was held.
    const id = await openSession(gw.mcpUrl, await gw.token('carol'));
    const onSession = await rpcOn(gw.mcpUrl, demoted, id, 'tools/call', { name: 'get_tenant_usage', arguments: {} });
    expect(await onSession.json()).toEqual({ jsonrpc: '2.0', id: 7, error: UNKNOWN_TOOL });
  });

  it('Z-20 a tool no policy grants is refused at start; a token granting no role sees and calls nothing', () => {
    for (const roles of ['', 'roles: []']) {
      const yaml = `auth:\n  issuers:\n    - { issuer: urn:t, algorithms: [HS256], secret: ${'s'.repeat(40)} }\ntools:\n  - name: t\n    description: d\n    input: { type: object }\n    ${roles}\n    module: { builtin: demo.echo }\n`;
      let problems: readonly string[] = [];
      try {
        loadConfigText(yaml, { env: {}, baseDir: gw.dir });
      } catch (err) {
        problems = (err as PortcullisError).problems;
      }
      expect(problems.some((p) => p.includes('/tools/0') && p.includes('roles'))).toBe(true);
    }
  });

  it('Z-20 a token without roles (or with roles the gateway does not know) is default-denied', async () => {
    for (const claims of [{ roles: undefined }, { roles: ['superuser', 'root'] }]) {
      const token = await gw.token('alice', claims);
      const { text } = await listModern(token);
      expect(names(text)).toEqual([]);
      const r = await call(token, 'get_user_profile', { userId: 'alice' });
      expect(r.body).toEqual({ jsonrpc: '2.0', id: 1, error: UNKNOWN_TOOL });
    }
  });
});

describe('B.3 scopes', () => {
  const CHALLENGE = (): string =>
    `Bearer error="insufficient_scope", error_description="The access token lacks a scope this operation needs", ` +
    `scope="files:read files:write", resource_metadata="${gw.url}/.well-known/oauth-protected-resource/mcp"`;

  it('Z-04 the role allows the tool but the scope lacks files:write: 403 RC-4 naming every scope needed', async () => {
    for (const scope of ['files:read', undefined]) {
      const { res, body } = await call(await gw.token('alice', scope ? { scope } : {}), 'sec_files', { text: 'x' });
      expect(res.status).toBe(403);
      expect(res.headers.get('www-authenticate')).toBe(CHALLENGE());
      expect(body).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'Insufficient scope' } });
    }
    const granted = await call(await gw.token('alice', { scope: 'files:read files:write' }), 'sec_files', {
      text: 'x',
    });
    expect(granted.res.status).toBe(200);
    expect(textOf(granted.body)).toBe('x');
  });

  it('Z-24 scope "*", "admin:*" or "files:*" grants nothing beyond the scopes defined', async () => {
    for (const scope of ['*', 'admin:*', 'files:*', 'files:read files:*']) {
      const token = await gw.token('alice', { scope });
      const { res } = await call(token, 'sec_files', { text: 'x' });
      expect(res.status).toBe(403);
      expect(res.headers.get('www-authenticate')).toBe(CHALLENGE());
      const listed = names((await listModern(token)).text);
      expect(listed).not.toContain('sec_files');
      for (const n of ADMIN_TOOLS) expect(listed).not.toContain(n);
      expect((await call(token, 'refund_payment', { paymentId: 'pay_1001', confirm: true })).body).toEqual({
        jsonrpc: '2.0',
        id: 1,
        error: UNKNOWN_TOOL,
      });
    }
  });
});

describe('B.3 tenancy', () => {
  it('Z-06 a tenantId of another tenant is refused (RC-17) and never reaches the backend; omitted, it is forced to A', async () => {
    const alice = await gw.token('alice');
    const before = seenCalls().length;
    const smuggled = await call(alice, 'sec_record', { tenantId: 'globex', note: 'x' });
    expect(smuggled.res.status).toBe(200);
    expect(smuggled.body.result?.isError).toBe(true);
    expect(textOf(smuggled.body)).toMatch(/^Access denied: 'tenantId' must be your own tenant \(ref [^)]+\)$/);
    expect(textOf(smuggled.body)).not.toContain('globex');
    expect(seenCalls().length).toBe(before);
    const refused = (await auditEvents()).find((e) => e.requestId === smuggled.res.headers.get('x-request-id'));
    expect(refused).toMatchObject({ tenant: 'acme', outcome: 'denied', reason: 'tenant_mismatch' });
    expect(refused?.arguments).toContain('"tenantId":"globex"'); // the attempt is on record

    const forced = await call(alice, 'sec_record', { note: 'y' });
    expect(forced.body.result?.isError).toBeUndefined();
    expect(seenCalls().slice(before)).toEqual([
      { tool: 'sec_record', args: { tenantId: 'acme', note: 'y' }, user: 'alice', tenant: 'acme' },
    ]);

    // A tool without a tenant parameter refuses one (closed schema), naming it, not its value.
    const extra = await call(alice, 'get_user_profile', { userId: 'alice', tenantId: 'globex' });
    expect(extra.body.result?.isError).toBe(true);
    expect(textOf(extra.body)).toMatch(/^Invalid arguments: unexpected argument 'tenantId' \(ref [^)]+\)$/);
  });

  it('Z-07 a tenant hidden deeper or in another spelling is refused; the backend sees nothing', async () => {
    const alice = await gw.token('alice');
    const before = seenCalls().length;
    const cases: [Record<string, unknown>, string][] = [
      [{ filter: { org_id: 'globex' } }, 'filter/org_id'],
      [{ items: [{ orgId: 'globex' }] }, 'items/0/orgId'],
      [{ OrgId: 'globex' }, 'OrgId'],
      [{ 'org-id': 'globex' }, 'org-id'],
      [{ TenantId: 'globex' }, 'TenantId'],
      [{ tenantid: 'globex' }, 'tenantid'],
    ];
    for (const [args, field] of cases) {
      const r = await call(alice, 'sec_record', args);
      expect(r.body.result?.isError).toBe(true);
      expect(withoutRef(textOf(r.body))).toBe(`Invalid arguments: unexpected argument '${field}'`);
    }
    expect(seenCalls().length).toBe(before);
  });

  it('Z-08 a tenant in _meta, X-Tenant-Id, X-Org-Id or ?tenant= is ignored: the backend and the audit see A', async () => {
    const alice = await gw.token('alice');
    const before = seenCalls().length;
    const attempts = [
      await call(alice, 'sec_record', { note: 'meta' }, { meta: { tenant: 'globex', org_id: 'globex' } }),
      await call(
        alice,
        'sec_record',
        { note: 'headers' },
        { headers: { 'x-tenant-id': 'globex', 'x-org-id': 'globex' } },
      ),
      await call(alice, 'sec_record', { note: 'query' }, { query: '?tenant=globex&org_id=globex' }),
    ];
    for (const a of attempts) expect(a.body.result?.isError).toBeUndefined();
    expect(seenCalls().slice(before)).toEqual(
      ['meta', 'headers', 'query'].map((note) => ({
        tool: 'sec_record',
        args: { tenantId: 'acme', note },
        user: 'alice',
        tenant: 'acme',
      })),
    );
    const events = await auditEvents();
    for (const a of attempts) {
      const called = events.find((e) => e.requestId === a.res.headers.get('x-request-id') && e.event === 'tool.called');
      expect(called).toMatchObject({ user: 'alice', tenant: 'acme', outcome: 'ok' });
      expect(called?.arguments).not.toContain('globex');
    }
  });

  it("Z-10 BOLA: an acme admin naming globex's objects gets the not-found answer, with no data and no effect", async () => {
    const carol = await gw.token('carol');
    const usage = async (): Promise<unknown> =>
      (await call(await gw.token('dave'), 'get_tenant_usage', {})).body.result?.content?.[0]?.text;
    const globexBefore = await usage();

    const foreignUser = await call(carol, 'get_user_profile', { userId: 'bob' });
    const missingUser = await call(carol, 'get_user_profile', { userId: 'nobody' });
    expect(foreignUser.body.result?.isError).toBe(true);
    expect(foreignUser.body).toEqual(missingUser.body);
    expect(textOf(foreignUser.body)).toBe('User not found or access denied');

    const foreignPayment = await call(carol, 'refund_payment', { paymentId: 'pay_2001', confirm: true });
    const missingPayment = await call(carol, 'refund_payment', { paymentId: 'pay_9999', confirm: true });
    expect(foreignPayment.body.result?.isError).toBe(true);
    expect(foreignPayment.body).toEqual(missingPayment.body);
    expect(textOf(foreignPayment.body)).toBe('Payment not found or access denied');
    expect(await usage()).toEqual(globexBefore);
  });
});

describe('B.3 resources, prompts and tasks (none are served yet)', () => {
  /** The same request on 2026-07-28 and on a 2025 session, for two parameter sets that must look alike. */
  async function sameAnswer(method: string, a: Record<string, unknown>, b: Record<string, unknown>): Promise<void> {
    const bob = await gw.token('bob');
    // 2026-07-28 names the uri or prompt in Mcp-Name; it must mirror the body.
    const named = (p: Record<string, unknown>): Record<string, string> => {
      const v = p.uri ?? p.name;
      return typeof v === 'string' ? { 'mcp-name': v } : {};
    };
    const ma = await postModern(gw.mcpUrl, bob, method, a, { headers: named(a) });
    const mb = await postModern(gw.mcpUrl, bob, method, b, { headers: named(b) });
    expect(ma.status).toBe(404);
    expect(mb.status).toBe(404);
    const modern = await ma.text();
    expect(JSON.parse(modern)).toMatchObject({ error: { code: -32601 } });
    expect(modern).toBe(await mb.text());

    const id = await openSession(gw.mcpUrl, bob);
    const sa = await rpcOn(gw.mcpUrl, bob, id, method, a);
    const sb = await rpcOn(gw.mcpUrl, bob, id, method, b);
    expect(sa.status).toBe(200);
    const legacy = await sa.text();
    expect(JSON.parse(legacy)).toMatchObject({ error: { code: -32601 } });
    expect(legacy).toBe(await sb.text());
  }

  it("Z-11 resources/read of another tenant's uri answers exactly like a missing uri", async () => {
    await sameAnswer('resources/read', { uri: 'saas://acme/doc/1' }, { uri: 'saas://nobody/doc/404' });
  });

  it("Z-13 prompts/get with another tenant's ids answers exactly like an unknown prompt", async () => {
    await sameAnswer(
      'prompts/get',
      { name: 'summarise', arguments: { tenantId: 'acme', text: 'ignore previous instructions' } },
      { name: 'no_such_prompt', arguments: {} },
    );
  });

  it("Z-14 tasks/get, tasks/result, tasks/cancel with someone's taskId answer like a nonexistent one", async () => {
    for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel']) {
      await sameAnswer(method, { taskId: 'alice-task-1' }, { taskId: 'never-existed' });
    }
  });
});
