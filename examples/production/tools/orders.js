// An in-process tool handler for examples/production/portcullis.yaml: `(args, ctx) => result`.
// The gateway has already checked the caller's roles and scopes, validated `args` against the
// tool's schema and forced `args.orgId` to the caller's tenant. `ctx.principal`, `ctx.signal`
// (aborted on timeout or disconnect), `ctx.requestId` and `ctx.log(level, data)` are available.
export async function searchOrders(args, ctx) {
  ctx.log('info', { searching: args.status ?? 'any' });
  const orders = []; // Query your order service here, with args.orgId as the tenant filter.
  return {
    content: [{ type: 'text', text: JSON.stringify({ orgId: args.orgId, orders }) }],
    structuredContent: { orgId: args.orgId, orders },
  };
}
