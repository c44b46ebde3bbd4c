/**
 * In-process handlers of the embedded demo SaaS tools (`module: { builtin: demo.<name> }`).
 * The gateway has already checked roles, validated arguments, forced the tenant argument and
 * checked `confirm`; these handlers still enforce object-level authorization from
 * `ctx.principal` alone (defence in depth, OWASP API1 "Broken Object Level Authorization"):
 * they never act on another tenant, and a missing object and a forbidden one get the same answer,
 * so a caller cannot probe which ids exist. Error texts are fixed strings: no SQL, paths or stacks.
 * Unexpected failures (a broken database) throw and are turned into a generic error by the gateway.
 */
import type { ToolContext, ToolHandler, ToolResult } from '../tools/types.js';
import type { DemoDatabase, InvoiceStatus, RefundDenial, TicketPriority } from './db.js';

/** Fixed answer texts; the tests and the README quote them. */
export const DemoMessages = {
  userNotFound: 'User not found or access denied',
  paymentNotFound: 'Payment not found or access denied',
  tenantNotFound: 'Tenant not found or access denied',
  accessDenied: 'Access denied',
  invalidArguments: 'Invalid arguments',
  cancelled: 'Request was cancelled; nothing was changed',
  tenantDeprovisioned: 'Tenant is deprovisioned; no changes are accepted',
  alreadyRefunded: 'Payment is already fully refunded',
} as const;

type Role = 'user' | 'admin';
type Args = Record<string, unknown>;

const INVOICE_STATUSES: readonly InvoiceStatus[] = ['open', 'paid', 'refunded'];
const PRIORITIES: readonly TicketPriority[] = ['low', 'normal', 'high', 'urgent'];
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

function ok(data: Record<string, unknown>): ToolResult {
  // MCP 2025-06-18 "Structured Content": also return the serialized JSON as text for older clients.
  return { content: [{ type: 'text', text: JSON.stringify(data) }], structuredContent: data };
}

function fail(text: string): ToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

function str(args: Args, key: string): string | undefined {
  const v = args[key];
  return typeof v === 'string' ? v : undefined;
}

function int(args: Args, key: string): number | undefined {
  const v = args[key];
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}

function oneOf<T extends string>(values: readonly T[], v: unknown): T | undefined {
  return values.find((x) => x === v);
}

const isAdmin = (ctx: ToolContext): boolean => ctx.principal.roles.includes('admin');

/**
 * The tenant a tenant-bound call acts on: always the caller's own. A `tenantId` argument naming
 * any other tenant is refused, even though the gateway should already have overwritten it.
 */
function ownTenant(args: Args, ctx: ToolContext): string | undefined {
  return str(args, 'tenantId') === ctx.principal.tenant ? ctx.principal.tenant : undefined;
}

function getUserProfile(db: DemoDatabase, args: Args, ctx: ToolContext): ToolResult {
  const userId = str(args, 'userId');
  if (userId === undefined) return fail(DemoMessages.invalidArguments);
  // A user sees only themselves; an admin sees anyone in their own tenant. The query is scoped to
  // the caller's tenant, so users of other tenants are indistinguishable from missing ones.
  if (userId !== ctx.principal.user && !isAdmin(ctx)) return fail(DemoMessages.userNotFound);
  const user = db.getUser(ctx.principal.tenant, userId);
  if (!user) return fail(DemoMessages.userNotFound);
  return ok({ ...user });
}

function listInvoices(db: DemoDatabase, args: Args, ctx: ToolContext): ToolResult {
  const tenantId = ownTenant(args, ctx);
  if (tenantId === undefined) return fail(DemoMessages.tenantNotFound);
  const status = oneOf(INVOICE_STATUSES, args.status);
  const limit = int(args, 'limit') ?? DEFAULT_LIMIT;
  if ((args.status !== undefined && !status) || limit < 1 || limit > MAX_LIMIT) {
    return fail(DemoMessages.invalidArguments);
  }
  const admin = isAdmin(ctx);
  const invoices = db.listInvoices({
    tenantId,
    ...(!admin && { customerId: ctx.principal.user }),
    ...(status && { status }),
    limit,
  });
  return ok({ tenantId, scope: admin ? 'tenant' : 'own', count: invoices.length, invoices });
}

function createSupportTicket(db: DemoDatabase, args: Args, ctx: ToolContext): ToolResult {
  const tenantId = ownTenant(args, ctx);
  if (tenantId === undefined) return fail(DemoMessages.tenantNotFound);
  const subject = str(args, 'subject')?.trim();
  const body = str(args, 'body')?.trim();
  const priority = args.priority === undefined ? 'normal' : oneOf(PRIORITIES, args.priority);
  if (!subject || !body || !priority) return fail(DemoMessages.invalidArguments);
  if (db.getTenant(tenantId)?.status !== 'active') return fail(DemoMessages.tenantDeprovisioned);
  if (ctx.signal.aborted) return fail(DemoMessages.cancelled);
  const ticket = db.createTicket({ tenantId, userId: ctx.principal.user, subject, body, priority });
  return ok({ tenantId, ticket });
}

const REFUND_DENIALS: Record<RefundDenial, (remainingCents: number) => string> = {
  not_found: () => DemoMessages.paymentNotFound,
  already_refunded: () => DemoMessages.alreadyRefunded,
  amount_exceeds: (r) => `Refund amount exceeds the refundable balance of ${r} cents`,
};

function refundPayment(db: DemoDatabase, args: Args, ctx: ToolContext): ToolResult {
  const tenantId = ownTenant(args, ctx);
  if (tenantId === undefined) return fail(DemoMessages.paymentNotFound);
  const paymentId = str(args, 'paymentId');
  const amountCents = int(args, 'amountCents');
  if (paymentId === undefined || (args.amountCents !== undefined && (amountCents === undefined || amountCents < 1))) {
    return fail(DemoMessages.invalidArguments);
  }
  if (db.getTenant(tenantId)?.status !== 'active') return fail(DemoMessages.tenantDeprovisioned);
  if (ctx.signal.aborted) return fail(DemoMessages.cancelled);
  // `confirm` is deliberately not read: the gateway enforces confirmation of destructive tools.
  const out = db.refundPayment({
    tenantId,
    paymentId,
    ...(amountCents !== undefined && { amountCents }),
    refundedBy: ctx.principal.user,
  });
  if (!out.ok) return fail(REFUND_DENIALS[out.reason](out.remainingCents));
  const p = out.payment;
  return ok({
    refundId: out.refundId,
    paymentId: p.id,
    invoiceId: p.invoiceId,
    amountCents: out.amountCents,
    currency: p.currency,
    paymentStatus: p.status,
    refundedCents: p.refundedCents,
    remainingCents: p.amountCents - p.refundedCents,
  });
}

function deprovisionTenant(db: DemoDatabase, args: Args, ctx: ToolContext): ToolResult {
  // Only ever the caller's own tenant: the argument can at most confirm it, never choose another.
  const tenantId = ownTenant(args, ctx);
  if (tenantId === undefined) return fail(DemoMessages.tenantNotFound);
  if (ctx.signal.aborted) return fail(DemoMessages.cancelled);
  const result = db.deprovisionTenant(tenantId, ctx.principal.user);
  if (!result) return fail(DemoMessages.tenantNotFound);
  const { tenant, alreadyDeprovisioned } = result;
  const usage = db.tenantUsage(tenantId);
  const message = alreadyDeprovisioned
    ? `Tenant ${tenant.id} was already deprovisioned at ${tenant.deprovisionedAt ?? 'an unknown time'}; nothing changed.`
    : `Tenant ${tenant.id} is now deprovisioned. Its data is retained; write operations are refused.`;
  return ok({
    tenantId: tenant.id,
    status: tenant.status,
    alreadyDeprovisioned,
    deprovisionedAt: tenant.deprovisionedAt,
    deprovisionedBy: tenant.deprovisionedBy,
    retained: {
      users: usage.users,
      invoices: usage.invoices.open.count + usage.invoices.paid.count + usage.invoices.refunded.count,
    },
    message,
  });
}

function getTenantUsage(db: DemoDatabase, args: Args, ctx: ToolContext): ToolResult {
  const tenantId = ownTenant(args, ctx);
  const tenant = tenantId === undefined ? undefined : db.getTenant(tenantId);
  if (tenantId === undefined || !tenant) return fail(DemoMessages.tenantNotFound);
  return ok({
    tenantId,
    name: tenant.name,
    plan: tenant.plan,
    currency: tenant.currency,
    status: tenant.status,
    ...db.tenantUsage(tenantId),
  });
}

type Impl = (db: DemoDatabase, args: Args, ctx: ToolContext) => ToolResult;

const TOOLS: Readonly<Record<string, { roles: readonly Role[]; run: Impl }>> = {
  get_user_profile: { roles: ['user', 'admin'], run: getUserProfile },
  list_invoices: { roles: ['user', 'admin'], run: listInvoices },
  create_support_ticket: { roles: ['user', 'admin'], run: createSupportTicket },
  refund_payment: { roles: ['admin'], run: refundPayment },
  deprovision_tenant: { roles: ['admin'], run: deprovisionTenant },
  get_tenant_usage: { roles: ['admin'], run: getTenantUsage },
};

/**
 * The demo tool handlers, keyed `demo.<tool_name>` as referenced by `module: { builtin }` in config.
 * Each handler re-checks the caller's roles before running.
 */
export function createDemoHandlers(db: DemoDatabase): ReadonlyMap<string, ToolHandler> {
  const handlers = new Map<string, ToolHandler>();
  for (const [name, tool] of Object.entries(TOOLS)) {
    handlers.set(`demo.${name}`, (args, ctx) =>
      tool.roles.some((r) => ctx.principal.roles.includes(r))
        ? tool.run(db, args, ctx)
        : fail(DemoMessages.accessDenied),
    );
  }
  return handlers;
}
