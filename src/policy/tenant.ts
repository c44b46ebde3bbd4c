/**
 * Tenant binding (SEC-AZ-05/06): a tool's tenant argument always equals the caller's tenant.
 * Absent → filled in from the principal; equal → kept; different → refused (RC-17) and audited.
 * The principal's value is written last so no argument can override it.
 */
import type { Principal } from '../auth/principal.js';

export type TenantDecision = { ok: true; args: Record<string, unknown> } | { ok: false; reason: 'tenant_mismatch' };

export function bindTenant(
  args: Record<string, unknown>,
  tenantArg: string | undefined,
  principal: Principal,
): TenantDecision {
  if (tenantArg === undefined) return { ok: true, args };
  const supplied = Object.hasOwn(args, tenantArg) ? args[tenantArg] : undefined;
  if (supplied !== undefined && supplied !== principal.tenant) return { ok: false, reason: 'tenant_mismatch' };
  return { ok: true, args: { ...args, [tenantArg]: principal.tenant } };
}
