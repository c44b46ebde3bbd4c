/** `limits.store`: memory by default, Redis with its defaults, and clear problems that never quote a password. */
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { PortcullisError } from '../../src/errors.js';

const SECRET = 'x'.repeat(40);
const withLimits = (limits: string) => `
auth:
  issuers:
    - issuer: urn:test
      algorithms: [HS256]
      secret: \${env:SECRET}
limits:
${limits}`;

function load(limits: string, env: Record<string, string> = {}) {
  return loadConfigText(withLimits(limits), { env: { SECRET, ...env }, baseDir: '/tmp' });
}
function problemsOf(limits: string): string[] {
  try {
    load(limits);
  } catch (err) {
    expect(err).toBeInstanceOf(PortcullisError);
    return [...(err as PortcullisError).problems];
  }
  return [];
}

describe('limits.store', () => {
  it('is memory unless configured, and `memory` may be written out', () => {
    expect(load('  perIp: { requests: 5, windowSec: 1 }').limits.store).toEqual({ kind: 'memory' });
    expect(load('  store: memory').limits.store).toEqual({ kind: 'memory' });
  });

  it('takes a Redis URL (secrets from the environment) with defaults for the rest', () => {
    const c = load('  store: { redis: { url: "redis://:${env:RL_PASS}@10.0.0.7:6380/2" } }', { RL_PASS: 's3cret' });
    expect(c.limits.store).toEqual({
      kind: 'redis',
      url: 'redis://:s3cret@10.0.0.7:6380/2',
      keyPrefix: 'portcullis:rl:',
      timeoutMs: 50,
      expectedReplicas: 2,
    });
    const custom = load(
      '  store:\n    redis: { url: "rediss://cache.internal", keyPrefix: "a:", timeoutMs: 20, expectedReplicas: 3 }',
    );
    expect(custom.limits.store).toMatchObject({ keyPrefix: 'a:', timeoutMs: 20, expectedReplicas: 3 });
  });

  it('refuses other schemes, query options, non-numeric databases, unknown keys and zero replicas', () => {
    expect(problemsOf('  store: { redis: { url: "http://cache:6379" } }').join('\n')).toMatch(/\/limits\/store.*redis/);
    expect(problemsOf('  store: { redis: { url: "redis://:hunter2@cache/0?enableOfflineQueue=true" } }')).toEqual([
      '/limits/store/redis/url: no query or fragment allowed',
    ]);
    const bad = problemsOf('  store: { redis: { url: "redis://:hunter2@cache/zero" } }');
    expect(bad).toEqual(['/limits/store/redis/url: the path must be a database number']);
    expect(bad.join('')).not.toContain('hunter2');
    expect(problemsOf('  store: { redis: { url: "redis://cache", ttl: 5 } }').length).toBeGreaterThan(0);
    expect(problemsOf('  store: { redis: { url: "redis://cache", expectedReplicas: 0 } }').length).toBeGreaterThan(0);
    expect(problemsOf('  store: redis').length).toBeGreaterThan(0);
  });
});
