/** Rate-limit settings: raw `{requests, windowSec, burst?}` values resolved with their defaults. */
import { DEFAULTS } from './defaults.js';
import type { LimitsConfig, RateConfig, RateLimitStoreConfig } from './types.js';

type RateKey = 'perIp' | 'perPrincipal' | 'perTenant' | 'perTool' | 'perPrincipalTool' | 'notificationsPerPrincipal';
export interface RawRate {
  requests: number;
  windowSec: number;
  burst?: number;
}

export function rate(r: RawRate): RateConfig {
  return { requests: r.requests, windowSec: r.windowSec, burst: r.burst ?? r.requests };
}

export function resolveLimits(raw: RawLimits, problems: string[] = []): LimitsConfig {
  const d = DEFAULTS.limits;
  return {
    perIp: rate(raw.perIp ?? d.perIp),
    perPrincipal: rate(raw.perPrincipal ?? d.perPrincipal),
    perTenant: rate(raw.perTenant ?? d.perTenant),
    perTool: rate(raw.perTool ?? d.perTool),
    perPrincipalTool: rate(raw.perPrincipalTool ?? d.perPrincipalTool),
    notificationsPerPrincipal: rate(raw.notificationsPerPrincipal ?? d.notificationsPerPrincipal),
    concurrentPerPrincipal: raw.concurrentPerPrincipal ?? d.concurrentPerPrincipal,
    concurrentPerSession: raw.concurrentPerSession ?? d.concurrentPerSession,
    store: resolveStore(raw.store, problems),
  };
}

function resolveStore(raw: RawLimits['store'], problems: string[]): RateLimitStoreConfig {
  if (raw === undefined || raw === 'memory') return { kind: 'memory' };
  const r = raw.redis;
  // The URL may carry a password: problems never quote it.
  let url: URL | undefined;
  try {
    url = new URL(r.url);
  } catch {
    problems.push('/limits/store/redis/url: not a URL');
  }
  if (url) {
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
      problems.push('/limits/store/redis/url: must be redis:// or rediss://');
    if (url.hostname === '') problems.push('/limits/store/redis/url: no host');
    if (!/^\/?(\d{1,5})?$/.test(url.pathname))
      problems.push('/limits/store/redis/url: the path must be a database number');
    if (url.search !== '' || url.hash !== '') problems.push('/limits/store/redis/url: no query or fragment allowed');
  }
  const d = DEFAULTS.limits.redis;
  return {
    kind: 'redis',
    url: r.url,
    keyPrefix: r.keyPrefix ?? d.keyPrefix,
    timeoutMs: r.timeoutMs ?? d.timeoutMs,
    expectedReplicas: r.expectedReplicas ?? d.expectedReplicas,
  };
}

/** The `limits` section as written in the file. */
export type RawLimits = Partial<Record<RateKey, RawRate>> & {
  concurrentPerPrincipal?: number;
  concurrentPerSession?: number;
  store?: 'memory' | { redis: { url: string; keyPrefix?: string; timeoutMs?: number; expectedReplicas?: number } };
};
