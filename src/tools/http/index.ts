/**
 * REST backends: `http` tools over configured `upstreams`. The public surface for the gateway
 * and for embedders (e.g. the demo): create the shared egress once, build a handler per tool.
 */
export { createHttpHandler } from './handler.js';
export { createEgress } from './runtime.js';
export type { Egress, EgressOptions, UpstreamFailureInfo, UpstreamRuntime } from './runtime.js';
export { loadOrCreateSigner, JWKS_PATH } from './signing.js';
export type { UpstreamSigner } from './signing.js';
export { classifyAddress, addressAllowed } from './address.js';
