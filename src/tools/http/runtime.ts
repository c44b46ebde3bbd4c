/**
 * The shared egress of all REST upstreams: one policy-enforcing Agent and one credential source
 * per upstream (plus an Agent for an OAuth token endpoint), created once at start and closed
 * with the gateway. `http` tool handlers are built on top of it (handler.ts).
 */
import type { Agent } from 'undici';
import type { UpstreamConfig } from '../../config/types.js';
import { createBreaker } from './breaker.js';
import type { CircuitBreaker } from './breaker.js';
import { createCredentialSource } from './credentials.js';
import type { ClaimNames, CredentialSource } from './credentials.js';
import { createEgressAgent } from './egress.js';
import type { UpstreamSigner } from './signing.js';

export interface UpstreamRuntime {
  readonly config: UpstreamConfig;
  readonly agent: Agent;
  readonly credentials: CredentialSource;
  readonly breaker: CircuitBreaker;
}

/** What a failed upstream call tells the operator's log (never the client). */
export interface UpstreamFailureInfo {
  readonly upstream: string;
  readonly tool: string;
  readonly requestId: string;
  readonly reason: string;
  readonly err?: unknown;
}

export interface EgressOptions {
  readonly upstreams: Readonly<Record<string, UpstreamConfig>>;
  /** Needed when an upstream uses `gatewayJwt`. */
  readonly signer?: UpstreamSigner;
  /** Claim names of the gateway JWT (the gateway's own `auth.claims`). */
  readonly claims: ClaimNames;
  readonly onFailure?: (info: UpstreamFailureInfo) => void;
}

export interface Egress {
  upstream(name: string): UpstreamRuntime | undefined;
  readonly onFailure: (info: UpstreamFailureInfo) => void;
  close(): Promise<void>;
}

export function createEgress(options: EgressOptions): Egress {
  const runtimes = new Map<string, UpstreamRuntime>();
  const agents: Agent[] = [];
  try {
    for (const [name, u] of Object.entries(options.upstreams)) {
      const policy = {
        allowPrivateNetwork: u.allowPrivateNetwork,
        connectTimeoutMs: u.connectTimeoutMs,
        timeoutMs: u.timeoutMs,
        maxResponseBytes: u.maxResponseBytes,
        maxConcurrent: u.maxConcurrent,
        ...(u.caFile !== undefined && { caFile: u.caFile }),
      };
      const agent = createEgressAgent({ ...policy, hosts: [u.hostname] });
      agents.push(agent);
      let tokenAgent: Agent | undefined;
      if (u.auth?.kind === 'oauthClientCredentials') {
        tokenAgent = createEgressAgent({ ...policy, hosts: [new URL(u.auth.tokenUrl).hostname], maxConcurrent: 4 });
        agents.push(tokenAgent);
      }
      const credentials = createCredentialSource(u, {
        ...(options.signer && { signer: options.signer }),
        claims: options.claims,
        ...(tokenAgent && { tokenAgent }),
      });
      runtimes.set(name, { config: u, agent, credentials, breaker: createBreaker(u.circuitBreaker) });
    }
  } catch (err) {
    for (const a of agents) void a.destroy();
    throw err;
  }
  return {
    upstream: (name) => runtimes.get(name),
    onFailure: options.onFailure ?? (() => {}),
    // The gateway has already dropped its clients: calls still in flight are cut, not awaited.
    close: async () => {
      await Promise.all(agents.map((a) => a.destroy().catch(() => undefined)));
    },
  };
}
