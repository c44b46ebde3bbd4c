/** D-08: the client address comes from the socket unless a trusted proxy forwarded it. */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientIp, createProxyTrust } from '../../src/http/clientIp.js';

const req = (peer: string, xff?: string[]): IncomingMessage =>
  ({
    socket: { remoteAddress: peer },
    headersDistinct: xff ? { 'x-forwarded-for': xff } : {},
  }) as unknown as IncomingMessage;

describe('clientIp', () => {
  const none = createProxyTrust([]);
  const proxies = createProxyTrust(['10.0.0.0/8', '::1']);

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(clientIp(req('203.0.113.9', ['1.2.3.4']), none)).toBe('203.0.113.9');
    expect(clientIp(req('::ffff:203.0.113.9', ['1.2.3.4']), proxies)).toBe('203.0.113.9');
  });

  it('takes the right-most untrusted hop behind trusted proxies, never the left-most', () => {
    expect(clientIp(req('10.0.0.5', ['6.6.6.6, 198.51.100.7, 10.0.0.9']), proxies)).toBe('198.51.100.7');
    expect(clientIp(req('10.0.0.5', ['6.6.6.6', '198.51.100.7']), proxies)).toBe('198.51.100.7');
  });

  it('stops at a malformed hop', () => {
    expect(clientIp(req('10.0.0.5', ['198.51.100.7, garbage']), proxies)).toBe('10.0.0.5');
  });

  it('refuses malformed trust entries', () => {
    expect(() => createProxyTrust(['not-an-ip'])).toThrow(/not an IP/);
  });
});
