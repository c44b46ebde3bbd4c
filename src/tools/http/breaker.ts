/**
 * A circuit breaker per REST upstream (SEC-RL-03, ASVS 16.5.2; D-14): after `failures`
 * consecutive calls that the upstream itself failed (no connection, timeout, 5xx), the circuit
 * opens and calls fail at once, without a connection, for `cooldownMs`. Then one call is let
 * through as a probe: its success closes the circuit, its failure opens it again. A tarpit
 * upstream therefore costs `failures` timeouts, not one per call for as long as it hangs.
 * Answers that are the caller's or the gateway's doing (4xx, a refused address, a size cap) do
 * not count either way.
 */

export interface BreakerOptions {
  readonly failures: number;
  readonly cooldownMs: number;
  readonly now?: () => number;
}

export interface CircuitBreaker {
  /** False while the circuit is open (or a probe is already out). */
  allow(): boolean;
  /**
   * Reports the outcome of an allowed call: `true` = the upstream failed it, `false` = it
   * answered; `undefined` = no verdict (the caller went away first): only frees the probe.
   */
  record(fault: boolean | undefined): void;
  readonly state: 'closed' | 'open' | 'half-open';
}

export function createBreaker(options: BreakerOptions): CircuitBreaker {
  const now = options.now ?? Date.now;
  let consecutive = 0;
  let openedAt: number | undefined;
  let probing = false;
  return {
    get state() {
      if (openedAt === undefined) return 'closed';
      return now() - openedAt >= options.cooldownMs ? 'half-open' : 'open';
    },
    allow() {
      if (openedAt === undefined) return true;
      if (now() - openedAt < options.cooldownMs || probing) return false;
      probing = true;
      return true;
    },
    record(fault) {
      if (fault === undefined) {
        probing = false;
        return;
      }
      if (!fault) {
        consecutive = 0;
        openedAt = undefined;
        probing = false;
        return;
      }
      consecutive += 1;
      if (probing || consecutive >= options.failures) {
        openedAt = now();
        probing = false;
      }
    },
  };
}

/** Failure reasons (tools/http/result.ts) that are the upstream's fault. */
export function isUpstreamFault(reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (reason.startsWith('upstream_status_')) return Number(reason.slice('upstream_status_'.length)) >= 500;
  return (
    reason === 'upstream_timeout' ||
    reason === 'upstream_connect_timeout' ||
    reason === 'upstream_unreachable' ||
    reason === 'upstream_error'
  );
}
