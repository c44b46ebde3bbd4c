/**
 * The embedded demo SaaS database: schema, seed data and every query the demo tools run.
 * Parameterized statements only, each prepared once at open; no SQL text is ever built from input.
 * Authorization lives in demo/tools.ts; queries here still take the tenant as a parameter so
 * a row of another tenant cannot be reached even by a handler bug.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';

export type InvoiceStatus = 'open' | 'paid' | 'refunded';
export type TicketPriority = 'low' | 'normal' | 'high' | 'urgent';

export interface TenantRow {
  id: string;
  name: string;
  plan: string;
  currency: string;
  status: 'active' | 'deprovisioned';
  deprovisionedAt: string | null;
  deprovisionedBy: string | null;
}
export interface UserRow {
  id: string;
  tenantId: string;
  role: 'user' | 'admin';
  displayName: string;
  email: string;
  createdAt: string;
}
export interface InvoiceRow {
  id: string;
  customerId: string;
  amountCents: number;
  currency: string;
  status: InvoiceStatus;
  issuedAt: string;
}
export interface PaymentRow {
  id: string;
  tenantId: string;
  invoiceId: string;
  amountCents: number;
  refundedCents: number;
  currency: string;
  status: 'settled' | 'partially_refunded' | 'refunded';
}
export interface TicketRow {
  id: string;
  userId: string;
  subject: string;
  priority: TicketPriority;
  status: 'open' | 'closed';
  createdAt: string;
}
export type NewTicket = Pick<TicketRow, 'userId' | 'subject' | 'priority'> & { tenantId: string; body: string };
export interface TenantUsage {
  users: number;
  invoices: Record<InvoiceStatus, { count: number; amountCents: number }>;
  openTickets: number;
  refundedCents: number;
}

/** Why a refund was refused; expected outcomes, not exceptions. */
export type RefundDenial = 'not_found' | 'already_refunded' | 'amount_exceeds';
export type RefundOutcome =
  | { ok: true; refundId: string; amountCents: number; payment: PaymentRow }
  | { ok: false; reason: RefundDenial; remainingCents: number };

/** The demo database, behind a narrow interface of domain queries. */
export interface DemoDatabase {
  getTenant(tenantId: string): TenantRow | undefined;
  /** A user of `tenantId`; users of other tenants are invisible. */
  getUser(tenantId: string, userId: string): UserRow | undefined;
  listInvoices(q: { tenantId: string; customerId?: string; status?: InvoiceStatus; limit: number }): InvoiceRow[];
  createTicket(t: NewTicket): TicketRow;
  /** Refunds `amountCents` (default: all that remains) of a payment of `tenantId`, atomically. */
  refundPayment(r: { tenantId: string; paymentId: string; amountCents?: number; refundedBy: string }): RefundOutcome;
  /** Marks the tenant deprovisioned (rows are kept); idempotent. Undefined if no such tenant. */
  deprovisionTenant(tenantId: string, by: string): { tenant: TenantRow; alreadyDeprovisioned: boolean } | undefined;
  tenantUsage(tenantId: string): TenantUsage;
  close(): void;
}

/** Options of {@link openDemoDatabase}; `clock` is the source of timestamps for new rows (tests pin it). */
export type DemoDatabaseOptions = { clock?: () => Date };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, plan TEXT NOT NULL, currency TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','deprovisioned')),
  deprovisioned_at TEXT, deprovisioned_by TEXT);
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id),
  role TEXT NOT NULL CHECK (role IN ('user','admin')), display_name TEXT NOT NULL, email TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id),
  customer_id TEXT NOT NULL REFERENCES users(id), amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
  currency TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('open','paid','refunded')), issued_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payments (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id),
  invoice_id TEXT NOT NULL REFERENCES invoices(id), amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
  refunded_cents INTEGER NOT NULL DEFAULT 0 CHECK (refunded_cents BETWEEN 0 AND amount_cents), currency TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('settled','partially_refunded','refunded')), created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refunds (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id),
  payment_id TEXT NOT NULL REFERENCES payments(id), amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
  refunded_by TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id),
  user_id TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
  priority TEXT NOT NULL CHECK (priority IN ('low','normal','high','urgent')),
  status TEXT NOT NULL CHECK (status IN ('open','closed')), created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS invoices_by_tenant ON invoices (tenant_id, customer_id);
`;

const T0 = '2025-01-06T09:00:00.000Z';
// [id, tenant, role, name, email]
const USERS = [
  ['alice', 'acme', 'user', 'Alice Anders', 'alice@acme.example'],
  ['carol', 'acme', 'admin', 'Carol Chen', 'carol@acme.example'],
  ['erin', 'acme', 'user', 'Erin Evans', 'erin@acme.example'],
  ['frank', 'acme', 'user', 'Frank Fischer', 'frank@acme.example'],
  ['bob', 'globex', 'user', 'Bob Brown', 'bob@globex.example'],
  ['dave', 'globex', 'admin', 'Dave Diaz', 'dave@globex.example'],
  ['grace', 'globex', 'user', 'Grace Green', 'grace@globex.example'],
  ['heidi', 'globex', 'user', 'Heidi Hall', 'heidi@globex.example'],
] as const;
// [id, tenant, customer, cents, status, issued]; paid and refunded invoices get a payment `pay_<n>`.
const INVOICES = [
  ['inv_1001', 'acme', 'alice', 12_900, 'paid', '2025-02-01'],
  ['inv_1002', 'acme', 'alice', 4_500, 'open', '2025-03-01'],
  ['inv_1003', 'acme', 'erin', 99_000, 'paid', '2025-02-03'],
  ['inv_1004', 'acme', 'frank', 2_500, 'refunded', '2025-02-10'],
  ['inv_1005', 'acme', 'alice', 7_800, 'paid', '2025-03-15'],
  ['inv_2001', 'globex', 'bob', 25_000, 'paid', '2025-02-02'],
  ['inv_2002', 'globex', 'bob', 1_999, 'open', '2025-03-02'],
  ['inv_2003', 'globex', 'grace', 50_000, 'paid', '2025-02-20'],
  ['inv_2004', 'globex', 'heidi', 3_300, 'refunded', '2025-02-25'],
] as const;

// [id, tenant, user, subject, body, priority, status]
const TICKETS = [
  ['tkt_0001', 'acme', 'alice', 'Invoice PDF missing', 'The March invoice has no PDF.', 'normal', 'open'],
  ['tkt_0002', 'acme', 'erin', 'SSO login loop', 'Okta keeps redirecting.', 'high', 'closed'],
  ['tkt_0003', 'globex', 'bob', 'Change billing email', 'Please use ap@globex.example.', 'low', 'open'],
] as const;

const TENANT_COLS = `id, name, plan, currency, status, deprovisioned_at AS deprovisionedAt, deprovisioned_by AS deprovisionedBy`;
const PAYMENT_COLS = `id, tenant_id AS tenantId, invoice_id AS invoiceId, amount_cents AS amountCents,
  refunded_cents AS refundedCents, currency, status`;

/**
 * Opens (creating and seeding if needed) the demo database at `file`. Idempotent: seeding runs
 * once, in a transaction, only into an empty database.
 */
export function openDemoDatabase(file: string, options: DemoDatabaseOptions = {}): DemoDatabase {
  const now = (): string => (options.clock ?? (() => new Date()))().toISOString();
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  seedIfEmpty(db);

  const tenantById = db.prepare<[string], TenantRow>(`SELECT ${TENANT_COLS} FROM tenants WHERE id = ?`);
  const userById = db.prepare<[string, string], UserRow>(
    `SELECT id, tenant_id AS tenantId, role, display_name AS displayName, email, created_at AS createdAt
     FROM users WHERE tenant_id = ? AND id = ?`,
  );
  const invoices = db.prepare<[Record<string, string | number | null>], InvoiceRow>(
    `SELECT id, customer_id AS customerId, amount_cents AS amountCents, currency, status, issued_at AS issuedAt
     FROM invoices WHERE tenant_id = @tenantId AND (@customerId IS NULL OR customer_id = @customerId)
       AND (@status IS NULL OR status = @status) ORDER BY issued_at DESC, id LIMIT @limit`,
  );
  const insertTicket = db.prepare(
    `INSERT INTO tickets (id, tenant_id, user_id, subject, body, priority, status, created_at)
     VALUES (@id, @tenantId, @userId, @subject, @body, @priority, @status, @createdAt)`,
  );
  const paymentById = db.prepare<[string, string], PaymentRow>(
    `SELECT ${PAYMENT_COLS} FROM payments WHERE tenant_id = ? AND id = ?`,
  );
  const updatePayment = db.prepare<[number, string, string, string]>(
    `UPDATE payments SET refunded_cents = ?, status = ? WHERE tenant_id = ? AND id = ?`,
  );
  const refundInvoice = db.prepare<[string, string]>(
    `UPDATE invoices SET status = 'refunded' WHERE tenant_id = ? AND id = ?`,
  );
  const insertRefund = db.prepare<[string, string, string, number, string, string]>(
    `INSERT INTO refunds (id, tenant_id, payment_id, amount_cents, refunded_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const deprovision = db.prepare<[string, string, string]>(
    `UPDATE tenants SET status = 'deprovisioned', deprovisioned_at = ?, deprovisioned_by = ?
     WHERE id = ? AND status = 'active'`,
  );
  const countUsers = db.prepare<[string], { n: number }>(`SELECT COUNT(*) AS n FROM users WHERE tenant_id = ?`);
  const invoiceTotals = db.prepare<[string], { status: InvoiceStatus; count: number; amountCents: number }>(
    `SELECT status, COUNT(*) AS count, SUM(amount_cents) AS amountCents FROM invoices WHERE tenant_id = ? GROUP BY status`,
  );
  const countOpenTickets = db.prepare<[string], { n: number }>(
    `SELECT COUNT(*) AS n FROM tickets WHERE tenant_id = ? AND status = 'open'`,
  );
  const sumRefunds = db.prepare<[string], { n: number }>(
    `SELECT COALESCE(SUM(amount_cents), 0) AS n FROM refunds WHERE tenant_id = ?`,
  );

  const refund = db.transaction((r: Parameters<DemoDatabase['refundPayment']>[0]): RefundOutcome => {
    const p = paymentById.get(r.tenantId, r.paymentId);
    if (!p) return { ok: false, reason: 'not_found', remainingCents: 0 };
    const remaining = p.amountCents - p.refundedCents;
    if (remaining <= 0) return { ok: false, reason: 'already_refunded', remainingCents: 0 };
    const amount = r.amountCents ?? remaining;
    if (amount > remaining) return { ok: false, reason: 'amount_exceeds', remainingCents: remaining };
    const refunded = p.refundedCents + amount;
    const status = refunded === p.amountCents ? 'refunded' : 'partially_refunded';
    updatePayment.run(refunded, status, r.tenantId, p.id);
    if (status === 'refunded') refundInvoice.run(r.tenantId, p.invoiceId);
    const refundId = `re_${randomBytes(6).toString('hex')}`;
    insertRefund.run(refundId, r.tenantId, p.id, amount, r.refundedBy, now());
    return { ok: true, refundId, amountCents: amount, payment: { ...p, refundedCents: refunded, status } };
  });

  return {
    getTenant: (tenantId) => tenantById.get(tenantId),
    getUser: (tenantId, userId) => userById.get(tenantId, userId),
    listInvoices: (q) => invoices.all({ ...q, customerId: q.customerId ?? null, status: q.status ?? null }),
    createTicket({ tenantId, body, ...t }) {
      const ticket: TicketRow = { ...t, id: `tkt_${randomBytes(6).toString('hex')}`, status: 'open', createdAt: now() };
      insertTicket.run({ ...ticket, tenantId, body });
      return ticket;
    },
    refundPayment: (r) => refund.immediate(r),
    deprovisionTenant(tenantId, by) {
      const changed = deprovision.run(now(), by, tenantId).changes > 0;
      const tenant = tenantById.get(tenantId);
      return tenant && { tenant, alreadyDeprovisioned: !changed };
    },
    tenantUsage(tenantId) {
      const zero = { count: 0, amountCents: 0 };
      const totals: TenantUsage['invoices'] = { open: zero, paid: zero, refunded: zero };
      for (const { status, count, amountCents } of invoiceTotals.all(tenantId)) totals[status] = { count, amountCents };
      return {
        users: countUsers.get(tenantId)?.n ?? 0,
        invoices: totals,
        openTickets: countOpenTickets.get(tenantId)?.n ?? 0,
        refundedCents: sumRefunds.get(tenantId)?.n ?? 0,
      };
    },
    close: () => db.close(),
  };
}

function seedIfEmpty(db: Database.Database): void {
  db.transaction(() => {
    const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM tenants').get();
    if ((count?.n ?? 0) > 0) return;
    const tenant = db.prepare('INSERT INTO tenants (id, name, plan, currency) VALUES (?, ?, ?, ?)');
    tenant.run('acme', 'Acme Corporation', 'business', 'USD');
    tenant.run('globex', 'Globex Inc.', 'enterprise', 'EUR');
    const user = db.prepare('INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)');
    for (const u of USERS) user.run(...u, T0);
    const invoice = db.prepare('INSERT INTO invoices VALUES (?, ?, ?, ?, ?, ?, ?)');
    const payment = db.prepare('INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const refund = db.prepare('INSERT INTO refunds VALUES (?, ?, ?, ?, ?, ?)');
    for (const [id, tenantId, customer, cents, status, issued] of INVOICES) {
      const currency = tenantId === 'acme' ? 'USD' : 'EUR';
      invoice.run(id, tenantId, customer, cents, currency, status, `${issued}T10:00:00.000Z`);
      if (status === 'open') continue;
      const payId = id.replace('inv_', 'pay_');
      const refunded = status === 'refunded' ? cents : 0;
      const payStatus = status === 'refunded' ? 'refunded' : 'settled';
      payment.run(payId, tenantId, id, cents, refunded, currency, payStatus, `${issued}T12:00:00.000Z`);
      const admin = tenantId === 'acme' ? 'carol' : 'dave';
      if (refunded) refund.run(id.replace('inv_', 're_'), tenantId, payId, cents, admin, `${issued}T15:00:00.000Z`);
    }
    const ticket = db.prepare(`INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const t of TICKETS) ticket.run(...t, T0);
  })();
}
