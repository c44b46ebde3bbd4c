/** Argument redaction by schema annotation and by key pattern (SEC-AUD-02, O-07). */
import { describe, expect, it } from 'vitest';
import { REDACTED, compileRedactor } from '../../src/audit/redact.js';

const KEYS = ['password', 'secret', 'token', 'apikey'];

describe('compileRedactor', () => {
  it('redacts properties marked x-sensitive, nested in objects and arrays', () => {
    const schema = {
      type: 'object',
      properties: {
        card: { type: 'string', 'x-sensitive': true },
        owner: {
          type: 'object',
          properties: { ssn: { type: 'string', 'x-sensitive': true }, name: { type: 'string' } },
        },
        payments: { type: 'array', items: { type: 'object', properties: { pin: { 'x-sensitive': true } } } },
        extra: { type: 'object', additionalProperties: { 'x-sensitive': true } },
      },
    };
    const redact = compileRedactor(schema, KEYS);
    const out = redact({
      card: '4111',
      owner: { ssn: '123-45', name: 'Ann' },
      payments: [{ pin: 1234, amount: 5 }, { pin: 9999 }],
      extra: { anything: 'hidden', other: { deep: 1 } },
      plain: 'kept',
    });
    expect(out).toEqual({
      card: REDACTED,
      owner: { ssn: REDACTED, name: 'Ann' },
      payments: [{ pin: REDACTED, amount: 5 }, { pin: REDACTED }],
      extra: { anything: REDACTED, other: REDACTED },
      plain: 'kept',
    });
  });

  it('follows local $ref and allOf/anyOf/oneOf branches', () => {
    const schema = {
      $defs: { cred: { type: 'object', properties: { pass: { 'x-sensitive': true } } } },
      type: 'object',
      properties: { login: { $ref: '#/$defs/cred' }, alt: { anyOf: [{ type: 'string' }, { 'x-sensitive': true }] } },
      allOf: [{ properties: { otp: { 'x-sensitive': true } } }],
    };
    const out = compileRedactor(schema, [])({ login: { pass: 'p', user: 'u' }, alt: 'a', otp: '123' });
    expect(out).toEqual({ login: { pass: REDACTED, user: 'u' }, alt: REDACTED, otp: REDACTED });
  });

  it('redacts keys that contain a configured pattern, case-insensitively, at any depth', () => {
    const out = compileRedactor(
      { type: 'object' },
      KEYS,
    )({
      Password: 'hunter2',
      nested: [{ githubToken: 'ghp_x', API_KEY_ID: 'no-match-is-kept', myApiKey: 'k' }],
      clientSecretValue: { a: 1 },
      username: 'ann',
    });
    expect(out).toEqual({
      Password: REDACTED,
      nested: [{ githubToken: REDACTED, API_KEY_ID: 'no-match-is-kept', myApiKey: REDACTED }],
      clientSecretValue: REDACTED,
      username: 'ann',
    });
  });

  it('never mutates its input and copies __proto__ keys as data', () => {
    const input = JSON.parse('{"password":"p","list":[{"token":"t"}],"__proto__":{"polluted":true}}');
    const before = JSON.stringify(input);
    const out = compileRedactor({}, KEYS)(input) as Record<string, unknown>;
    expect(JSON.stringify(input)).toBe(before);
    expect(out).not.toBe(input);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('passes scalars and unannotated values through, and redacts a sensitive root', () => {
    expect(compileRedactor({}, KEYS)('text')).toBe('text');
    expect(compileRedactor({}, KEYS)(null)).toBe(null);
    expect(compileRedactor({ 'x-sensitive': true }, KEYS)({ a: 1 })).toBe(REDACTED);
  });

  it('replaces values nested past its depth bound instead of recursing without end', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 200; i++) deep = { d: deep };
    expect(JSON.stringify(compileRedactor({}, KEYS)(deep))).toContain(REDACTED);
  });
});
