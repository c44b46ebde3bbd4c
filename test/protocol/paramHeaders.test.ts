/** SEC-FWD-01: arguments mirrored into Mcp-Param-* headers must match the body exactly. */
import { describe, expect, it } from 'vitest';
import { extractParamHeaders, paramHeadersMatch } from '../../src/protocol/paramHeaders.js';

const schema = {
  type: 'object',
  properties: {
    region: { type: 'string', 'x-mcp-header': 'Region' },
    count: { type: 'integer', 'x-mcp-header': 'Count' },
    nested: { type: 'object', properties: { dry: { type: 'boolean', 'x-mcp-header': 'Dry' } } },
  },
};

describe('Mcp-Param-* headers', () => {
  const problems: string[] = [];
  const defs = extractParamHeaders(schema, problems, '/tools/0');
  const headers = (h: Record<string, string>) => (name: string) => (h[name] === undefined ? undefined : [h[name]]);

  it('finds annotated properties along the properties chain', () => {
    expect(problems).toEqual([]);
    expect(defs.map((d) => d.header)).toEqual(['mcp-param-region', 'mcp-param-count', 'mcp-param-dry']);
  });

  it('accepts matching headers, including the base64 sentinel', () => {
    const args = { region: 'eu-west1', count: 3, nested: { dry: true } };
    expect(
      paramHeadersMatch(
        defs,
        args,
        headers({ 'mcp-param-region': 'eu-west1', 'mcp-param-count': '3', 'mcp-param-dry': 'true' }),
      ),
    ).toBe(true);
    expect(paramHeadersMatch(defs, { region: 'é' }, headers({ 'mcp-param-region': '=?base64?w6k=?=' }))).toBe(true);
  });

  it.each([
    ['F-03 a different value', { region: 'eu-west1' }, { 'mcp-param-region': 'us-east1' }],
    ['a missing header for a present value', { region: 'eu-west1' }, {}],
    ['a header for an absent value', {}, { 'mcp-param-region': 'eu-west1' }],
    ['a non-integer for an integer', { count: 3 }, { 'mcp-param-count': '3.0' }],
    ['a malformed sentinel', { region: 'x' }, { 'mcp-param-region': '=?base64?eA?=' }],
  ])('rejects %s', (_name, args, h) => {
    expect(paramHeadersMatch(defs, args, headers(h))).toBe(false);
  });

  it('refuses annotations on number properties, duplicates and non-token names', () => {
    const p: string[] = [];
    extractParamHeaders(
      {
        type: 'object',
        properties: {
          a: { type: 'number', 'x-mcp-header': 'A' },
          b: { type: 'string', 'x-mcp-header': 'B c' },
          c: { type: 'string', 'x-mcp-header': 'x' },
          d: { type: 'string', 'x-mcp-header': 'X' },
        },
      },
      p,
      '/tools/1',
    );
    expect(p).toHaveLength(3);
  });
});
