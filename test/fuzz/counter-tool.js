/**
 * The fuzz oracle's tool backend, loaded by the gateway like any `module: {file}` tool. Every
 * execution is written down (tool, correlation id, principal, the tenant argument it received),
 * so the fuzzer can compare what ran with the audit trail and with the credentials it sent.
 * The list lives on `globalThis` under a registry symbol: the gateway's `import()` and the
 * fuzzer's own imports may see different module instances, but they share the global object.
 */
const KEY = Symbol.for('portcullis.fuzz.executions');

/** @returns {{ tool: string, requestId: string, user: string, tenant: string, argTenant: unknown, confirm: unknown }[]} */
export function executions() {
  const g = /** @type {Record<symbol, unknown>} */ (globalThis);
  g[KEY] ??= [];
  return /** @type {any} */ (g[KEY]);
}

function record(tool, args, ctx) {
  executions().push({
    tool,
    requestId: ctx.requestId,
    user: ctx.principal.user,
    tenant: ctx.principal.tenant,
    argTenant: args.tenantId,
    confirm: args.confirm,
  });
  return { content: [{ type: 'text', text: 'counted' }] };
}

/** `fuzz_counter`: any role, tenant-bound, read-only. */
export function counter(args, ctx) {
  return record('fuzz_counter', args, ctx);
}

/** `fuzz_counter_admin`: admins only, destructive (needs `confirm: true`, audited intent first). */
export function counterAdmin(args, ctx) {
  return record('fuzz_counter_admin', args, ctx);
}
