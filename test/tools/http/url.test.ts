/**
 * Upstream URLs (SEC-UP-04): path variables fill one segment and nothing else; the result stays on
 * the upstream's origin and under its prefix; query strings come from URLSearchParams only.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildUrl, parsePathTemplate } from '../../../src/tools/http/url.js';

const upstream = { baseUrl: 'https://api.example.com/v1', origin: 'https://api.example.com', basePath: '/v1' };

function build(
  path: string,
  values: Record<string, unknown>,
  query: [string, string, unknown][] = [],
  tenant?: [string, string],
) {
  const t = parsePathTemplate(path);
  if (!t.ok) throw new Error(t.problem);
  return buildUrl(upstream, t, values, query, tenant);
}

describe('parsePathTemplate', () => {
  it('splits literals and variables', () => {
    expect(parsePathTemplate('/files/{fileId}/content')).toMatchObject({ ok: true, vars: ['fileId'] });
    expect(parsePathTemplate('/v1/{name}:cancel')).toMatchObject({ ok: true, vars: ['name'] });
  });
  it('refuses dot segments, empty segments, %, query and fragment', () => {
    for (const p of ['files', '/a/../b', '/a/./b', '/a//b', '/a%2fb', '/a?b', '/a#b', '/{x}/..', '/a\\b']) {
      expect(parsePathTemplate(p).ok, p).toBe(false);
    }
  });
});

describe('buildUrl', () => {
  it('encodes an identifier into its segment', () => {
    const r = build('/files/{id}/content', { id: 'f_12-a.b~c' });
    expect(r.ok && r.url.href).toBe('https://api.example.com/v1/files/f_12-a.b~c/content');
    expect(build('/n/{id}', { id: 42 })).toMatchObject({ ok: true });
  });

  it('refuses traversal, separators, encodings, userinfo and non-identifiers (U-03…U-07)', () => {
    for (const v of [
      '..',
      '.',
      '...',
      '%2e%2e',
      '%2E%2E',
      'a/b',
      'a?x=1',
      'a#f',
      'a;b',
      'a\\b',
      'evil.com@x',
      '@x',
      '',
      ' ',
      'a b',
      'é',
      'a'.repeat(129),
    ]) {
      expect(build('/files/{id}/content', { id: v }), JSON.stringify(v)).toEqual({
        ok: false,
        reason: 'bad_path_argument',
        arg: 'id',
      });
    }
    for (const v of [1.5, Number.NaN, true, null, undefined, {}, ['a'], 2 ** 60]) {
      expect(build('/files/{id}', { id: v }).ok, JSON.stringify(v)).toBe(false);
    }
  });

  it('whatever a value is, the URL stays on the origin and under the prefix (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('..', '%2e%2e', '/', '?', '#', '@', '\\')),
        (v) => {
          const r = build('/files/{id}', { id: v });
          if (r.ok) {
            expect(r.url.origin).toBe(upstream.origin);
            expect(r.url.pathname.startsWith('/v1/files/')).toBe(true);
            expect(r.url.pathname.split('/')).toHaveLength(4);
            expect(r.url.search + r.url.hash + r.url.username).toBe('');
          }
        },
      ),
    );
  });

  it('builds the query with URLSearchParams: no pollution, arrays repeat, tenant set last (U-16)', () => {
    const r = build(
      '/items',
      {},
      [
        ['search', 'search', 'a&org_id=B'],
        ['tag', 'tags', ['x', 'y']],
        ['org_id', 'org', 'B'],
        ['n', 'n', 3],
        ['skip', 'skip', undefined],
      ],
      ['org_id', 'acme'],
    );
    expect(r.ok && r.url.search).toBe('?search=a%26org_id%3DB&tag=x&tag=y&org_id=acme&n=3');
    expect(r.ok && r.url.searchParams.getAll('org_id')).toEqual(['acme']);
    expect(build('/items', {}, [['q', 'q', { a: 1 }]])).toEqual({ ok: false, reason: 'bad_query_argument', arg: 'q' });
  });
});
