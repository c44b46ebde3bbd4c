/** Escaping and capping of logged strings (SEC-AUD-03, O-05, O-06, D-19) and canonical JSON. */
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../src/audit/canonical.js';
import { MAX_ARGUMENTS_CHARS, escapeLogString } from '../../src/audit/escape.js';

describe('escapeLogString', () => {
  it('writes CR, LF, ESC, DEL and C1 controls as literal \\uXXXX text (O-05, O-06)', () => {
    const forged = 'x\r\n{"level":"info","decision":"allow","sub":"admin"}\u001b[2J\u007f\u0085';
    const out = escapeLogString(forged);
    expect(out).toBe('x\\u000d\\u000a{"level":"info","decision":"allow","sub":"admin"}\\u001b[2J\\u007f\\u0085');
    // eslint-disable-next-line no-control-regex -- asserting that no control character is left
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('escapes U+2028/U+2029 and every bidi control (O-06)', () => {
    const bidi = '\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069';
    expect(escapeLogString(`a${bidi}b`)).toBe(
      'a\\u2028\\u2029\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069b',
    );
  });

  it('keeps ordinary text, non-Latin letters and emoji as they are', () => {
    const text = 'Grüße, 東京 👋 — "quoted" \\ back';
    expect(escapeLogString(text)).toBe(text);
  });

  it('escapes lone surrogates but keeps valid pairs', () => {
    expect(escapeLogString('a\ud800b\udc00c😀')).toBe('a\\ud800b\\udc00c😀');
  });

  it('caps a field and says how much was cut, never splitting an escape (D-19)', () => {
    expect(escapeLogString('a'.repeat(2000))).toBe(`${'a'.repeat(1024)}…[truncated 976]`);
    const out = escapeLogString(`${'a'.repeat(1020)}\u001bzz`);
    expect(out).toBe(`${'a'.repeat(1020)}…[truncated 3]`);
    expect(escapeLogString('😀'.repeat(600), 5)).toBe('😀😀…[truncated 1196]');
  });

  it('keeps escaped JSON text valid JSON with the same value', () => {
    const value = { s: 'x\u2028y\u202ez\u0085' };
    const text = escapeLogString(canonicalJson(value), MAX_ARGUMENTS_CHARS);
    expect(text).not.toMatch(/[\u2028\u202e\u0085]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and has no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives the same text and digest whatever the key order', () => {
    const one = canonicalJson({ x: 1, y: 'two', z: [true] });
    const two = canonicalJson({ z: [true], y: 'two', x: 1 });
    expect(one).toBe(two);
    expect(sha256Hex(one)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('drops undefined members, writes non-finite numbers as null, keeps __proto__ as data', () => {
    expect(canonicalJson({ a: undefined, b: NaN, c: [undefined] })).toBe('{"b":null,"c":[null]}');
    expect(canonicalJson(JSON.parse('{"__proto__":{"x":1}}'))).toBe('{"__proto__":{"x":1}}');
  });

  it('refuses values nested deeper than its limit (and so cycles)', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(RangeError);
  });
});
