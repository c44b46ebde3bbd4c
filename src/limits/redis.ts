/**
 * Rate-limit counters in Redis, shared by every gateway behind the load balancer (SEC-RL-04).
 * The same GCRA as the memory store, as one Lua script per `charge`: a script runs atomically,
 * so either every key has room and all are charged, or none is, whichever replica asks. Time is
 * the Redis server's (`TIME` inside the script), so replicas with skewed clocks agree; each key
 * expires when its TAT passes, the moment it holds no more than a fresh key would.
 *
 * This store fails like Redis does (a rejected promise within the command timeout); the caller
 * (FallbackRateLimitStore) turns that into conservative local limits, never into no limit.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { RateCharge, RateDecision, RateLimitStore } from './store.js';

/**
 * KEYS: the keys to charge. ARGV, two per key: the TAT increment (interval × cost) and the
 * tolerance (interval × burst), in ms. Returns `{1}`, or `{0, index (0-based), retryAfterMs}`
 * for the first full key. TATs are stored as milliseconds with 3 decimals.
 */
export const GCRA_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tats = {}
for i = 1, #KEYS do
  local stored = redis.call('GET', KEYS[i])
  local tat = stored and tonumber(stored) or now
  if tat < now then tat = now end
  local newTat = tat + tonumber(ARGV[2 * i - 1])
  local allowAt = newTat - tonumber(ARGV[2 * i])
  if allowAt > now then return {0, i - 1, math.ceil(allowAt - now)} end
  tats[i] = newTat
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.3f', tats[i]), 'PX', math.max(1, math.ceil(tats[i] - now)))
end
return {1}
`;
const GCRA_SHA = createHash('sha1').update(GCRA_LUA).digest('hex');

export interface RedisStoreOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). */
  readonly url: string;
  /** Prepended to every key (`portcullis:rl:`), so several deployments can share one Redis. */
  readonly keyPrefix: string;
  /** Bound on each command, and on connecting. */
  readonly timeoutMs: number;
  /** Told about connection errors (the client reconnects by itself). */
  readonly onError?: (err: Error) => void;
}

const ALLOWED: RateDecision = Object.freeze({ allowed: true });

/** ioredis options from a validated URL. Query parameters are never turned into client options. */
export function redisConnection(url: string): RedisOptions {
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('not a redis:// or rediss:// URL');
  const db = u.pathname.replace(/^\//, '');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return {
    host,
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username !== '' && { username: decodeURIComponent(u.username) }),
    ...(u.password !== '' && { password: decodeURIComponent(u.password) }),
    ...(db !== '' && { db: Number(db) }),
    // SNI takes a host name, never an address.
    ...(u.protocol === 'rediss:' && { tls: isIP(host) === 0 ? { servername: host } : {} }),
  };
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(opts: RedisStoreOptions) {
    this.#prefix = opts.keyPrefix;
    this.#client = new Redis({
      ...redisConnection(opts.url),
      connectionName: 'portcullis-rate-limits',
      connectTimeout: Math.max(opts.timeoutMs, 1000),
      commandTimeout: opts.timeoutMs,
      // Fail at once while disconnected, and never replay a charge after a reconnect: the
      // request it was for has been answered from the fallback already.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    });
    // Without a listener ioredis prints every connection error; the fallback reports outages.
    this.#client.on('error', (err: Error) => opts.onError?.(err));
  }

  /** Connected and ready for commands. */
  get available(): boolean {
    return this.#client.status === 'ready';
  }

  /**
   * Resolves once the first connection is ready (true), or fails or takes longer than
   * `timeoutMs` (false). Never rejects: a gateway starts without Redis, on the fallback.
   */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.available) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.#client.off('ready', onReady);
        this.#client.off('error', onFail);
        this.#client.off('end', onFail);
        resolve(ok);
      };
      const onReady = (): void => done(true);
      const onFail = (): void => done(false);
      const timer = setTimeout(onFail, timeoutMs);
      this.#client.once('ready', onReady);
      this.#client.once('error', onFail);
      this.#client.once('end', onFail);
    });
  }

  /** `nowMs` is ignored: the script reads the Redis server's clock. */
  async charge(entries: readonly RateCharge[], _nowMs?: number): Promise<RateDecision> {
    if (entries.length === 0) return ALLOWED;
    const args: (string | number)[] = [];
    for (const e of entries) args.push(this.#prefix + e.key);
    for (const { rate, cost } of entries) {
      const interval = (rate.windowSec * 1000) / rate.requests;
      args.push(interval * cost, interval * rate.burst);
    }
    const reply = await this.#eval(entries.length, args);
    if (!Array.isArray(reply) || typeof reply[0] !== 'number') throw new Error('unexpected reply from the GCRA script');
    if (reply[0] === 1) return ALLOWED;
    const [, index, retryAfterMs] = reply as unknown[];
    if (typeof index !== 'number' || typeof retryAfterMs !== 'number' || index < 0 || index >= entries.length)
      throw new Error('unexpected reply from the GCRA script');
    return { allowed: false, index, retryAfterMs: Math.max(1, retryAfterMs) };
  }

  /** EVALSHA; on NOSCRIPT (a restarted or flushed Redis) EVAL, which also caches the script again. */
  async #eval(numKeys: number, args: (string | number)[]): Promise<unknown> {
    try {
      return await this.#client.evalsha(GCRA_SHA, numKeys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.#client.eval(GCRA_LUA, numKeys, ...args);
    }
  }

  async close(): Promise<void> {
    // quit() waits for a reply that a dead server never sends; disconnect() is immediate.
    if (this.available) await this.#client.quit().catch(() => this.#client.disconnect());
    else this.#client.disconnect();
  }
}
