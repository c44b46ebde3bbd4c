/** Policy as data: default deny, every allow with its deny twin (SECURITY.md C.3). */
import { describe, expect, it } from 'vitest';
import { principalKey } from '../../src/auth/principal.js';
import type { Principal } from '../../src/auth/principal.js';
import { authorizeCall, mayList } from '../../src/policy/authorize.js';
import { confirmFlagStrategy } from '../../src/policy/confirm.js';
import { closeObjects, compileValidator, createSchemaCompiler } from '../../src/policy/schema.js';
import { bindTenant } from '../../src/policy/tenant.js';

const p = (roles: string[], scopes: string[] = [], tenant = 'acme'): Principal => ({
  issuer: 'urn:test',
  user: 'u',
  tenant,
  roles,
  scopes: new Set(scopes),
  expiresAt: 0,
  key: principalKey('urn:test', 'u', tenant),
});

describe('authorization', () => {
  const adminTool = { roles: ['admin'], scopes: [] };
  const scoped = { roles: ['user'], scopes: ['files:read', 'files:write'] };
  it('a user cannot see or call an admin tool; an admin can', () => {
    expect(mayList(p(['user']), adminTool)).toBe(false);
    expect(authorizeCall(p(['user']), adminTool)).toEqual({ ok: false, reason: 'role_denied' });
    expect(mayList(p(['admin']), adminTool)).toBe(true);
    expect(authorizeCall(p(['admin']), adminTool)).toEqual({ ok: true });
  });
  it('Z-04 a role that allows the tool but missing scopes asks for every scope needed', () => {
    expect(mayList(p(['user'], ['files:read']), scoped)).toBe(false);
    expect(authorizeCall(p(['user'], ['files:read']), scoped)).toEqual({
      ok: false,
      reason: 'insufficient_scope',
      scopes: ['files:read', 'files:write'],
    });
    expect(authorizeCall(p(['user'], ['files:read', 'files:write']), scoped)).toEqual({ ok: true });
  });
  it('Z-24 a wildcard scope grants nothing', () => {
    expect(authorizeCall(p(['user'], ['*']), scoped)).toMatchObject({ ok: false });
  });
  it('no roles means no tools', () => {
    expect(mayList(p([]), { roles: ['user'], scopes: [] })).toBe(false);
  });
});

describe('tenant binding', () => {
  it('fills in the caller tenant when absent and keeps it when equal', () => {
    expect(bindTenant({ a: 1 }, 'tenantId', p(['user']))).toEqual({ ok: true, args: { a: 1, tenantId: 'acme' } });
    expect(bindTenant({ tenantId: 'acme' }, 'tenantId', p(['user']))).toEqual({ ok: true, args: { tenantId: 'acme' } });
  });
  it('Z-06 refuses another tenant', () => {
    expect(bindTenant({ tenantId: 'globex' }, 'tenantId', p(['user']))).toEqual({
      ok: false,
      reason: 'tenant_mismatch',
    });
    expect(bindTenant({ tenantId: null }, 'tenantId', p(['user']))).toEqual({ ok: false, reason: 'tenant_mismatch' });
  });
});

describe('confirmation', () => {
  it('requires confirm: true exactly', () => {
    expect(confirmFlagStrategy.confirm('t', { confirm: true })).toEqual({ ok: true, assertedBy: 'model' });
    expect(confirmFlagStrategy.confirm('t', { confirm: 'true' })).toMatchObject({ ok: false });
    expect(confirmFlagStrategy.confirm('t', {})).toMatchObject({ ok: false });
  });
});

describe('argument validation', () => {
  const ajv = createSchemaCompiler();
  const validate = compileValidator(
    ajv,
    closeObjects({
      type: 'object',
      required: ['limit'],
      properties: {
        limit: { type: 'integer', maximum: 100 },
        filter: { type: 'object', properties: { q: { type: 'string', maxLength: 10 } } },
      },
    }) as Record<string, unknown>,
  );
  it.each([
    [{}, "missing required argument 'limit'"],
    [{ limit: '10' }, "argument 'limit' must be integer"],
    [{ limit: 10.5 }, "argument 'limit' must be integer"],
    [{ limit: 1, role: 'admin' }, "unexpected argument 'role'"],
    [{ limit: 1, filter: { org_id: 'B' } }, "unexpected argument 'filter/org_id'"],
    [{ limit: 1, filter: { q: 'x'.repeat(100_000) } }, "argument 'filter/q' must NOT have more than 10 characters"],
  ])('V-21/V-24 %j → %s, never echoing the value', (args, message) => {
    expect(validate(args)).toBe(message);
  });
  it('accepts valid arguments', () => {
    expect(validate({ limit: 5, filter: { q: 'abc' } })).toBeUndefined();
  });
  it('closes nested objects by default but respects an explicit additionalProperties', () => {
    expect(closeObjects({ type: 'object', properties: { a: { type: 'object' } } })).toEqual({
      type: 'object',
      properties: { a: { type: 'object', additionalProperties: false } },
      additionalProperties: false,
    });
    expect(closeObjects({ type: 'object', additionalProperties: true })).toEqual({
      type: 'object',
      additionalProperties: true,
    });
  });
});
