/**
 * Wires the demo Projects API (demo/projectsApi.ts) into the embedded demo: starts it on a free
 * loopback port, keyed to the gateway's own upstream-signing key, and returns the configured
 * upstream pointed at it. The `http` tools of the demo config then reach it through the normal
 * egress, credentials and result mapping, like any company API.
 */
import { createLocalJWKSet } from 'jose';
import type { GatewayConfig, UpstreamConfig } from '../config/types.js';
import type { UpstreamSigner } from '../tools/http/index.js';
import { startProjectsApi } from './projectsApi.js';
import { openProjectsStore } from './projectsStore.js';

export interface DemoProjects {
  /** The upstream, its origin replaced by the API's actual address. */
  readonly upstream: UpstreamConfig;
  close(): Promise<void>;
}

export async function startDemoProjects(
  config: GatewayConfig,
  upstream: UpstreamConfig,
  signer: UpstreamSigner,
  database: string,
): Promise<DemoProjects> {
  if (upstream.auth?.kind !== 'gatewayJwt') throw new Error(`upstream ${upstream.name} must take the gateway's JWT`);
  const store = openProjectsStore(database);
  try {
    const api = await startProjectsApi({
      store,
      keys: createLocalJWKSet({ keys: [...signer.jwks.keys] }),
      issuer: signer.issuer,
      audience: upstream.auth.audience,
      claims: { user: config.auth.claims.user, tenant: config.auth.claims.tenant },
      host: '127.0.0.1',
      port: 0,
    });
    const url = new URL(api.url);
    return {
      upstream: {
        ...upstream,
        baseUrl: api.url,
        origin: url.origin,
        hostname: url.hostname,
        basePath: url.pathname.replace(/\/$/, ''),
      },
      close: async () => {
        await api.close();
        store.close();
      },
    };
  } catch (err) {
    store.close();
    throw err;
  }
}
