/** Rate-limit settings: raw `{requests, windowSec, burst?}` values resolved with their defaults. */
import { DEFAULTS } from './defaults.js';
import type { LimitsConfig, RateConfig } from './types.js';

type RateKey = 'perIp' | 'perPrincipal' | 'perTenant' | 'perTool' | 'perPrincipalTool' | 'notificationsPerPrincipal';
export interface RawRate {
  requests: number;
  windowSec: number;
  burst?: number;
}

export function rate(r: RawRate): RateConfig {
  return { requests: r.requests, windowSec: r.windowSec, burst: r.burst ?? r.requests };
}

export function resolveLimits(raw: RawLimits): LimitsConfig {
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
  };
}

/** The `limits` section as written in the file. */
export type RawLimits = Partial<Record<RateKey, RawRate>> & {
  concurrentPerPrincipal?: number;
  concurrentPerSession?: number;
};
