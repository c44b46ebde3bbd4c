/** JSON-RPC intake: one strict message per POST, structural limits enforced without recursion. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, parseMessage } from '../../src/protocol/jsonrpc.js';
import { decodeHeaderValue } from '../../src/protocol/modern.js';

const parse = (text: string | Buffer) => parseMessage(Buffer.isBuffer(text) ? text : Buffer.from(text), DEFAULT_LIMITS);

describe('parseMessage', () => {
  it('accepts a request, a notification and a response', () => {
    expect(parse('{"jsonrpc":"2.0","id":1,"method":"tools/list"}')).toMatchObject({
      ok: true,
      message: { kind: 'request', id: 1 },
    });
    expect(parse('{"jsonrpc":"2.0","method":"notifications/initialized"}')).toMatchObject({
      ok: true,
      message: { kind: 'notification' },
    });
    expect(parse('{"jsonrpc":"2.0","id":"a","result":{}}')).toMatchObject({ ok: true, message: { kind: 'response' } });
  });

  it.each([
    ['V-07 truncated JSON', '{"jsonrpc":', -32700],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), -32700],
    ['V-06 a batch', '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', -32600],
    ['V-09 jsonrpc 1.0', '{"jsonrpc":"1.0","id":1,"method":"ping"}', -32600],
    ['V-09 jsonrpc missing', '{"id":1,"method":"ping"}', -32600],
    ['V-10 id null', '{"jsonrpc":"2.0","id":null,"method":"ping"}', -32600],
    ['V-10 id object', '{"jsonrpc":"2.0","id":{},"method":"ping"}', -32600],
    ['V-10 id fractional', '{"jsonrpc":"2.0","id":1.5,"method":"ping"}', -32600],
    ['V-10 id too long', `{"jsonrpc":"2.0","id":"${'x'.repeat(129)}","method":"ping"}`, -32600],
    ['V-14 params array', '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[]}', -32600],
    [
      'SEC-IN-04 a request method sent as a notification',
      '{"jsonrpc":"2.0","method":"tools/call","params":{}}',
      -32600,
    ],
    ['unknown top-level member', '{"jsonrpc":"2.0","id":1,"method":"ping","extra":1}', -32600],
    [
      'V-20 __proto__ in params',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"__proto__":{"x":1}}}',
      -32600,
    ],
    [
      'V-19 constructor deep in arguments',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"a":[{"constructor":{}}]}}}',
      -32600,
    ],
    ['V-23 1e400', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"n":1e400}}}', -32600],
    ['a response with both result and error', '{"jsonrpc":"2.0","id":1,"result":{},"error":{}}', -32600],
  ])('%s is refused with %s', (_name, text, code) => {
    expect(parse(text)).toMatchObject({ ok: false, code });
  });

  it('V-03 refuses 200 000 levels of nesting without a stack overflow', () => {
    const deep = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}}}`;
    expect(parse(deep)).toMatchObject({ ok: false, code: -32600, reason: 'too_deep' });
  });

  it('V-04 refuses an object with 100 000 keys', () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `"k${i}":1`).join(',');
    expect(parse(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{${keys}}}}`)).toMatchObject({
      ok: false,
    });
  });

  it('accepts nesting up to the configured depth', () => {
    const ok = `{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":${'['.repeat(20)}${']'.repeat(20)}}}`;
    expect(parse(ok).ok).toBe(true);
  });
});

describe('decodeHeaderValue (2026 Mcp-Name / Mcp-Param-*)', () => {
  it('decodes the base64 sentinel and keeps other values literal', () => {
    expect(decodeHeaderValue('=?base64?SGVsbG8sIOS4lueVjA==?=')).toBe('Hello, 世界');
    expect(decodeHeaderValue('get_weather')).toBe('get_weather');
    expect(decodeHeaderValue('=?base64?xxx')).toBe('=?base64?xxx');
  });
  it('treats a malformed sentinel as a mismatch', () => {
    expect(decodeHeaderValue('=?base64?SGVsbG8?=')).toBeUndefined();
    expect(decodeHeaderValue('=?base64?SGVs!!!bG8=?=')).toBeUndefined();
  });
});
