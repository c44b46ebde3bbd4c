/** Destination addresses in binary form (SEC-UP-05, U-09): every spelling of a blocked address is blocked. */
import { describe, expect, it } from 'vitest';
import { addressAllowed, classifyAddress } from '../../../src/tools/http/address.js';

describe('classifyAddress', () => {
  it('cloud metadata, link-local, unspecified, multicast, broadcast and tunnels are forbidden', () => {
    for (const a of [
      '169.254.169.254',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      '[::ffff:a9fe:a9fe]',
      'fd00:ec2::254',
      'fe80::1',
      'fe80::1%eth0',
      '0.0.0.0',
      '0.1.2.3',
      '::',
      '::7f00:1',
      '224.0.0.1',
      'ff02::1',
      '255.255.255.255',
      '64:ff9b::7f00:1',
      '2002:7f00:1::',
      '2001:0:4136:e378::1',
      '192.0.2.1',
      'not-an-ip',
      '127.1',
    ]) {
      expect(classifyAddress(a), a).toBe('forbidden');
      expect(addressAllowed(a, true), a).toBe(false);
    }
  });

  it('loopback, RFC 1918, CGNAT and ULA are private: allowed only with allowPrivateNetwork', () => {
    for (const a of [
      '127.0.0.1',
      '127.255.0.9',
      '::1',
      '::ffff:127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '100.64.0.1',
      '100.127.255.255',
      'fc00::1',
      'fd12:3456::1',
      '::ffff:10.0.0.1',
    ]) {
      expect(classifyAddress(a), a).toBe('private');
      expect(addressAllowed(a, false), a).toBe(false);
      expect(addressAllowed(a, true), a).toBe(true);
    }
  });

  it('public addresses are allowed', () => {
    for (const a of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
      expect(classifyAddress(a), a).toBe('public');
      expect(addressAllowed(a, false), a).toBe(true);
    }
  });
});
