/**
 * Behaviour of the embedded demo SaaS: object-level authorization in the handlers themselves,
 * refunds, deprovisioning, injection resistance, and the tool definitions in
 * examples/demo/portcullis.yaml (the demo config) matching the handlers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { principalKey, type Principal } from '../../src/auth/principal.js';
import { openDemoDatabase, type DemoDatabase } from '../../src/demo/db.js';
import { createDemoHandlers, DemoMessages } from '../../src/demo/tools.js';
import { configSchema } from '../../src/config/schema.js';
import { createSchemaCompiler } from '../../src/policy/schema.js';
import type { ToolContext, ToolHandler, ToolResult } from '../../src/tools/types.js';

const ISSUER = 'https://demo.portcullis.local';
const TENANT_OF: Record<string, string> = { alice: 'acme', carol: 'acme', bob: 'globex', dave: 'globex' };
const ROLE_OF: Record<string, string> = { alice: 'user', carol: 'admin', bob: 'user', dave: 'admin' };

function principal(user: string, tenant = TENANT_OF[user]!, roles = [ROLE_OF[user]!]): Principal {
  return {
    issuer: ISSUER,
    user,
    tenant,
    roles,
    scopes: new Set(),
    expiresAt: 2e9,
    key: principalKey(ISSUER, user, tenant),
  };
}

function ctx(p: Principal, signal = new AbortController().signal): ToolContext {
  return { principal: p, signal, requestId: 'req-test', log: () => undefined, progress: () => undefined };
}

let dir: string;
let db: DemoDatabase;
let handlers: ReadonlyMap<string, ToolHandler>;

async function call(tool: string, who: string | Principal, args: Record<string, unknown>): Promise<ToolResult> {
  const p = typeof who === 'string' ? principal(who) : who;
  return await handlers.get(`demo.${tool}`)!(args, ctx(p));
}

const text = (r: ToolResult): string => (r.content[0]?.type === 'text' ? r.content[0].text : '');

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portcullis-demo-'));
  db = openDemoDatabase(path.join(dir, 'nested', 'demo.sqlite'), { clock: () => new Date('2025-06-01T12:00:00Z') });
  handlers = createDemoHandlers(db);
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('demo database', () => {
  it('creates its parent directory, uses WAL and seeds only once', () => {
    const file = path.join(dir, 'nested', 'demo.sqlite');
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    const again = openDemoDatabase(file);
    expect(again.tenantUsage('acme').users).toBe(4);
    expect(again.listInvoices({ tenantId: 'acme', limit: 100 })).toHaveLength(5);
    again.close();
  });
});

describe('get_user_profile', () => {
  it('alice can read her own profile, as text and structured content', async () => {
    const r = await call('get_user_profile', 'alice', { userId: 'alice' });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ id: 'alice', tenantId: 'acme', displayName: 'Alice Anders' });
    expect(JSON.parse(text(r))).toEqual(r.structuredContent);
  });

  it("alice cannot read carol's profile and gets the same answer as for a missing user", async () => {
    const forbidden = await call('get_user_profile', 'alice', { userId: 'carol' });
    const missing = await call('get_user_profile', 'alice', { userId: 'nobody' });
    expect(forbidden).toEqual({ isError: true, content: [{ type: 'text', text: DemoMessages.userNotFound }] });
    expect(missing).toEqual(forbidden);
  });

  it("carol (admin) can read alice's profile", async () => {
    const r = await call('get_user_profile', 'carol', { userId: 'alice' });
    expect(r.structuredContent).toMatchObject({ id: 'alice', email: 'alice@acme.example' });
  });

  it('globex users, even the admin dave, cannot read acme profiles', async () => {
    for (const who of ['bob', 'dave']) {
      const r = await call('get_user_profile', who, { userId: 'alice' });
      expect(text(r)).toBe(DemoMessages.userNotFound);
    }
  });

  it('a token claiming alice in the wrong tenant does not reach her profile', async () => {
    const r = await call('get_user_profile', principal('alice', 'globex'), { userId: 'alice' });
    expect(text(r)).toBe(DemoMessages.userNotFound);
  });

  it("parameterized queries resist userId \"alice' OR '1'='1\"", async () => {
    for (const who of ['alice', 'carol']) {
      const r = await call('get_user_profile', who, { userId: "alice' OR '1'='1" });
      expect(text(r)).toBe(DemoMessages.userNotFound);
    }
  });

  it('a principal without user or admin role is refused', async () => {
    const r = await call('get_user_profile', principal('alice', 'acme', ['auditor']), { userId: 'alice' });
    expect(text(r)).toBe(DemoMessages.accessDenied);
  });
});

describe('list_invoices', () => {
  it('alice sees only the invoices where she is the customer', async () => {
    const r = await call('list_invoices', 'alice', { tenantId: 'acme' });
    const invoices = r.structuredContent?.invoices as { customerId: string }[];
    expect(r.structuredContent).toMatchObject({ scope: 'own', count: 3 });
    expect(invoices.every((i) => i.customerId === 'alice')).toBe(true);
  });

  it('carol (admin) sees every acme invoice, filtered and limited on request', async () => {
    expect((await call('list_invoices', 'carol', { tenantId: 'acme' })).structuredContent).toMatchObject({ count: 5 });
    const open = await call('list_invoices', 'carol', { tenantId: 'acme', status: 'open', limit: 1 });
    expect(open.structuredContent).toMatchObject({ scope: 'tenant', count: 1, invoices: [{ id: 'inv_1002' }] });
  });

  it('a tenantId naming another tenant is refused even if the gateway let it through', async () => {
    const r = await call('list_invoices', 'carol', { tenantId: 'globex' });
    expect(text(r)).toBe(DemoMessages.tenantNotFound);
  });

  it('an injected status is rejected as an invalid argument', async () => {
    const r = await call('list_invoices', 'carol', { tenantId: 'acme', status: "open' OR '1'='1" });
    expect(text(r)).toBe(DemoMessages.invalidArguments);
  });
});

describe('create_support_ticket', () => {
  it('alice opens a ticket in her own name, priority normal by default', async () => {
    const r = await call('create_support_ticket', 'alice', { tenantId: 'acme', subject: ' Help ', body: 'Broken.' });
    expect(r.structuredContent).toMatchObject({ tenantId: 'acme', ticket: { userId: 'alice', subject: 'Help' } });
    expect(db.tenantUsage('acme').openTickets).toBe(2);
  });
});

describe('refund_payment', () => {
  it('carol refunds part of a payment, then the rest, then is told it is already refunded', async () => {
    const part = await call('refund_payment', 'carol', { tenantId: 'acme', paymentId: 'pay_1001', amountCents: 900 });
    expect(part.structuredContent).toMatchObject({ paymentStatus: 'partially_refunded', remainingCents: 12_000 });
    const rest = await call('refund_payment', 'carol', { tenantId: 'acme', paymentId: 'pay_1001', confirm: true });
    expect(rest.structuredContent).toMatchObject({ amountCents: 12_000, paymentStatus: 'refunded', remainingCents: 0 });
    const again = await call('refund_payment', 'carol', { tenantId: 'acme', paymentId: 'pay_1001', confirm: true });
    expect(text(again)).toBe(DemoMessages.alreadyRefunded);
    const paid = db.listInvoices({ tenantId: 'acme', status: 'refunded', limit: 10 }).map((i) => i.id);
    expect(paid).toContain('inv_1001');
  });

  it('refuses an amount above the refundable balance and changes nothing', async () => {
    const r = await call('refund_payment', 'carol', { tenantId: 'acme', paymentId: 'pay_1005', amountCents: 7_801 });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain('exceeds the refundable balance');
    expect(db.tenantUsage('acme').refundedCents).toBe(2_500);
  });

  it('dave (globex admin) cannot refund an acme payment and gets the not-found answer', async () => {
    const foreign = await call('refund_payment', 'dave', { tenantId: 'globex', paymentId: 'pay_1001' });
    const missing = await call('refund_payment', 'dave', { tenantId: 'globex', paymentId: 'pay_9999' });
    expect(text(foreign)).toBe(DemoMessages.paymentNotFound);
    expect(missing).toEqual(foreign);
    expect(db.tenantUsage('acme').refundedCents).toBe(2_500);
  });

  it('alice (user) cannot refund', async () => {
    const r = await call('refund_payment', 'alice', { tenantId: 'acme', paymentId: 'pay_1001', confirm: true });
    expect(text(r)).toBe(DemoMessages.accessDenied);
  });

  it('does nothing when the request was already cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await handlers.get('demo.refund_payment')!(
      { tenantId: 'acme', paymentId: 'pay_1001' },
      ctx(principal('carol'), ac.signal),
    );
    expect(text(r)).toBe(DemoMessages.cancelled);
    expect(db.tenantUsage('acme').refundedCents).toBe(2_500);
  });
});

describe('deprovision_tenant', () => {
  it('carol deprovisions acme once; a second call says it is already deprovisioned', async () => {
    const first = await call('deprovision_tenant', 'carol', { tenantId: 'acme', confirm: true });
    expect(first.structuredContent).toMatchObject({
      tenantId: 'acme',
      status: 'deprovisioned',
      alreadyDeprovisioned: false,
      deprovisionedAt: '2025-06-01T12:00:00.000Z',
      deprovisionedBy: 'carol',
      retained: { users: 4, invoices: 5 },
    });
    const second = await call('deprovision_tenant', 'carol', { tenantId: 'acme', confirm: true });
    expect(second.structuredContent).toMatchObject({ alreadyDeprovisioned: true });
    expect(text(second)).toContain('already deprovisioned');
    expect(db.getTenant('globex')?.status).toBe('active');
  });

  it('never acts on a tenant other than the caller’s', async () => {
    const r = await call('deprovision_tenant', 'carol', { tenantId: 'globex', confirm: true });
    expect(text(r)).toBe(DemoMessages.tenantNotFound);
    expect(db.getTenant('globex')?.status).toBe('active');
    expect(db.getTenant('acme')?.status).toBe('active');
  });

  it('a deprovisioned tenant keeps its data readable but refuses changes', async () => {
    await call('deprovision_tenant', 'carol', { tenantId: 'acme', confirm: true });
    expect((await call('get_user_profile', 'alice', { userId: 'alice' })).isError).toBeFalsy();
    const t = await call('create_support_ticket', 'alice', { tenantId: 'acme', subject: 'x', body: 'y' });
    expect(text(t)).toBe(DemoMessages.tenantDeprovisioned);
    const rf = await call('refund_payment', 'carol', { tenantId: 'acme', paymentId: 'pay_1001' });
    expect(text(rf)).toBe(DemoMessages.tenantDeprovisioned);
  });
});

describe('get_tenant_usage', () => {
  it('dave sees the globex summary, bob may not', async () => {
    const r = await call('get_tenant_usage', 'dave', { tenantId: 'globex' });
    expect(r.structuredContent).toMatchObject({ tenantId: 'globex', currency: 'EUR', users: 4, refundedCents: 3_300 });
    expect(text(await call('get_tenant_usage', 'bob', { tenantId: 'globex' }))).toBe(DemoMessages.accessDenied);
  });
});

describe('the demo config (examples/demo/portcullis.yaml)', () => {
  interface ToolDef {
    name: string;
    input: Record<string, unknown>;
    output?: Record<string, unknown>;
    module?: { builtin: string };
    http?: { upstream: string };
  }
  const file = new URL('../../examples/demo/portcullis.yaml', import.meta.url);
  const defs = (parse(fs.readFileSync(file, 'utf8')) as { tools: ToolDef[] }).tools;

  it('defines exactly the demo handlers (the rest are REST tools of the demo Projects API), with schemas that compile in Ajv strict mode', () => {
    const inProcess = defs.filter((d) => d.module);
    expect(inProcess.map((d) => d.module?.builtin).sort()).toEqual([...handlers.keys()].sort());
    expect(defs.filter((d) => !d.module).every((d) => d.http?.upstream === 'demo-projects')).toBe(true);
    const ajv = createSchemaCompiler();
    for (const d of defs) {
      expect(() => ajv.compile(d.input), d.name).not.toThrow();
      if (d.output) expect(() => ajv.compile(d.output!), d.name).not.toThrow();
    }
  });

  it('is a valid `tools` list of the config schema', () => {
    const validate = createSchemaCompiler().compile(configSchema.properties.tools);
    expect(validate(defs), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects injection-shaped ids and accepts the seeded ones', () => {
    const ajv = createSchemaCompiler();
    const profile = ajv.compile(defs.find((d) => d.name === 'get_user_profile')!.input);
    expect(profile({ userId: "alice' OR '1'='1" })).toBe(false);
    expect(profile({ userId: 'alice' })).toBe(true);
  });

  it('every successful structured result matches its declared output schema', async () => {
    const ajv = createSchemaCompiler();
    const out = (name: string) => ajv.compile(defs.find((d) => d.name === name)!.output!);
    const results: [string, ToolResult][] = [
      ['get_user_profile', await call('get_user_profile', 'carol', { userId: 'alice' })],
      ['list_invoices', await call('list_invoices', 'carol', { tenantId: 'acme' })],
      [
        'create_support_ticket',
        await call('create_support_ticket', 'bob', { tenantId: 'globex', subject: 's', body: 'b' }),
      ],
      ['refund_payment', await call('refund_payment', 'dave', { tenantId: 'globex', paymentId: 'pay_2001' })],
      ['get_tenant_usage', await call('get_tenant_usage', 'dave', { tenantId: 'globex' })],
      ['deprovision_tenant', await call('deprovision_tenant', 'dave', { tenantId: 'globex', confirm: true })],
    ];
    for (const [name, r] of results) {
      expect(r.isError, name).toBeFalsy();
      const validate = out(name);
      expect(validate(r.structuredContent), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });
});
