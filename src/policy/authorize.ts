/**
 * Who may see and call which tool (SEC-AZ-01/02/03). Default deny: a tool is visible only when
 * one of its roles is held and every scope it needs is granted. Decisions are values; the
 * dispatcher turns them into wire answers, collapsing "hidden" and "unknown" into one (RC-16).
 */
import type { Principal } from '../auth/principal.js';
import type { ToolConfig } from '../config/types.js';

export type CallDecision =
  | { ok: true }
  | { ok: false; reason: 'role_denied' }
  /** The role allows it but the token lacks scopes a step-up could grant (RC-4). */
  | { ok: false; reason: 'insufficient_scope'; scopes: readonly string[] };

export function hasRole(principal: Principal, tool: Pick<ToolConfig, 'roles'>): boolean {
  for (const r of tool.roles) if (principal.roles.includes(r)) return true;
  return false;
}

export function hasScopes(principal: Principal, tool: Pick<ToolConfig, 'scopes'>): boolean {
  for (const s of tool.scopes) if (!principal.scopes.has(s)) return false;
  return true;
}

export function mayList(principal: Principal, tool: Pick<ToolConfig, 'roles' | 'scopes'>): boolean {
  return hasRole(principal, tool) && hasScopes(principal, tool);
}

export function authorizeCall(principal: Principal, tool: Pick<ToolConfig, 'roles' | 'scopes'>): CallDecision {
  if (!hasRole(principal, tool)) return { ok: false, reason: 'role_denied' };
  if (!hasScopes(principal, tool)) return { ok: false, reason: 'insufficient_scope', scopes: tool.scopes };
  return { ok: true };
}
