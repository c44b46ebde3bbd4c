/**
 * OpenAPI Schema Objects become JSON Schema 2020-12 that the gateway's strict Ajv compiles, with
 * the same meaning: nullable, exclusive bounds, recursion kept as $defs, vendor keywords dropped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeObjects, compileValidator, createSchemaCompiler } from '../../../src/policy/schema.js';
import { SpecDocuments } from '../../../src/tools/openapi/documents.js';
import { SchemaConverter } from '../../../src/tools/openapi/schema.js';
import type { Schema } from '../../../src/tools/openapi/schema.js';

const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-oas-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Converts `components.schemas[name]` of a spec with these schemas (3.0 unless told). */
function convert(schemas: Record<string, unknown>, name: string, version = '3.0.3') {
  const file = path.join(dir, `spec${n++}.json`);
  writeFileSync(file, JSON.stringify({ openapi: version, info: {}, paths: {}, components: { schemas } }));
  const docs = SpecDocuments.open(file);
  const warnings: string[] = [];
  const conv = new SchemaConverter(docs, version.startsWith('3.0'), (w) => warnings.push(w));
  const c = conv.convert({ $ref: `#/components/schemas/${name}` }, docs.rootFile, name);
  const defs = conv.defs(c.defs);
  const schema: Schema = defs ? { ...c.schema, $defs: defs } : c.schema;
  return { schema, warnings };
}

/** Compiles like the gateway does (strict Ajv, objects closed) and returns a validator. */
function validator(schema: Schema): (value: unknown) => boolean {
  const v = compileValidator(createSchemaCompiler(), closeObjects(schema) as Schema);
  return (value) => v(value) === undefined;
}

describe('OpenAPI schema conversion', () => {
  it('turns 3.0 nullable into a type array, and adds null to an enum', () => {
    const { schema } = convert({ S: { type: 'string', nullable: true, enum: ['a', 'b'] } }, 'S');
    expect(schema).toEqual({ type: ['string', 'null'], enum: ['a', 'b', null] });
    const ok = validator(schema);
    expect([ok('a'), ok(null), ok('c'), ok(1)]).toEqual([true, true, false, false]);
  });

  it('wraps a nullable schema without a type in anyOf with null', () => {
    const { schema } = convert(
      { S: { nullable: true, oneOf: [{ type: 'string' }, { type: 'integer' }], description: 'd' } },
      'S',
    );
    expect(schema).toEqual({
      description: 'd',
      anyOf: [{ oneOf: [{ type: 'string' }, { type: 'integer' }] }, { type: 'null' }],
    });
    const ok = validator(schema);
    expect([ok('x'), ok(3), ok(null), ok(true)]).toEqual([true, true, true, false]);
  });

  it('turns 3.0 boolean exclusiveMinimum/Maximum into 2020-12 numbers', () => {
    const { schema } = convert(
      { N: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 10, exclusiveMaximum: false } },
      'N',
    );
    expect(schema).toEqual({ type: 'number', exclusiveMinimum: 0, maximum: 10 });
    const ok = validator(schema);
    expect([ok(0), ok(0.5), ok(10), ok(10.5)]).toEqual([false, true, true, false]);
  });

  it('drops vendor and documentation keywords, unknown formats and invalid patterns, with a warning for the pattern', () => {
    const { schema, warnings } = convert(
      {
        S: {
          type: 'object',
          example: { a: 1 },
          xml: { name: 's' },
          externalDocs: { url: 'https://example.com' },
          discriminator: { propertyName: 'kind' },
          'x-internal': true,
          properties: {
            a: { type: 'string', format: 'repo.nwo', pattern: '[\\w-.]+' },
            b: { type: 'integer', format: 'int32', deprecated: true },
            when: { type: 'string', format: 'date-time' },
          },
        },
      },
      'S',
    );
    expect(schema).toEqual({
      type: 'object',
      properties: {
        a: { type: 'string' },
        b: { type: 'integer', deprecated: true, format: 'int32' },
        when: { type: 'string', format: 'date-time' },
      },
    });
    expect(warnings).toEqual([expect.stringMatching(/pattern is not a valid ECMAScript regular expression/)]);
    expect(validator(schema)({ a: 'x', b: 1, when: '2026-01-01T00:00:00Z' })).toBe(true);
  });

  it('keeps recursion as $defs and a local $ref instead of unrolling it', () => {
    const { schema } = convert(
      {
        Node: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string' },
            children: { type: 'array', items: { $ref: '#/components/schemas/Node' } },
          },
        },
      },
      'Node',
    );
    expect(schema).toEqual({
      $ref: '#/$defs/Node',
      $defs: {
        Node: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/Node' } } },
        },
      },
    });
    const ok = validator({
      type: 'object',
      properties: { tree: schema.$ref ? { $ref: '#/$defs/Node' } : {} },
      $defs: schema.$defs,
    });
    expect(ok({ tree: { name: 'a', children: [{ name: 'b', children: [{ name: 'c' }] }] } })).toBe(true);
    expect(ok({ tree: { name: 'a', children: [{ children: [] }] } })).toBe(false);
    expect(ok({ tree: { name: 'a', extra: 1 } })).toBe(false);
  });

  it('inlines a reference that is not recursive', () => {
    const { schema } = convert(
      {
        A: {
          type: 'object',
          properties: { b: { $ref: '#/components/schemas/B' }, c: { $ref: '#/components/schemas/B' } },
        },
        B: { type: 'string', enum: ['x'] },
      },
      'A',
    );
    expect(schema).toEqual({
      type: 'object',
      properties: { b: { type: 'string', enum: ['x'] }, c: { type: 'string', enum: ['x'] } },
    });
  });

  it('references a very large target through $defs instead of copying it at every use', () => {
    const group = {
      type: 'object',
      properties: Object.fromEntries([...Array(250).keys()].map((i) => [`p${i}`, { type: 'string' }])),
    };
    const big = { type: 'object', properties: Object.fromEntries([...Array(10).keys()].map((i) => [`g${i}`, group])) };
    const two = {
      type: 'object',
      properties: { a: { $ref: '#/components/schemas/Big' }, b: { $ref: '#/components/schemas/Big' } },
    };
    const { schema } = convert({ Big: big, Two: two }, 'Two');
    expect(schema.properties).toEqual({ a: { $ref: '#/$defs/Big' }, b: { $ref: '#/$defs/Big' } });
    expect(Object.keys((schema.$defs as Record<string, Schema>).Big!.properties as object)).toHaveLength(10);
    const ok = validator(schema);
    expect(ok({ a: { g1: { p1: 'x' } }, b: {} })).toBe(true);
    expect(ok({ a: { g1: { p1: 1 } } })).toBe(false);
  });

  it('merges allOf of objects into one object, so closed branches do not refuse each other', () => {
    const { schema } = convert(
      {
        Named: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
        Pet: {
          allOf: [
            { $ref: '#/components/schemas/Named' },
            { type: 'object', required: ['kind'], properties: { kind: { type: 'string' } } },
          ],
        },
      },
      'Pet',
    );
    expect(schema).toEqual({
      type: 'object',
      properties: { name: { type: 'string' }, kind: { type: 'string' } },
      required: ['name', 'kind'],
    });
    const ok = validator(schema);
    expect([ok({ name: 'a', kind: 'dog' }), ok({ name: 'a' }), ok({ name: 'a', kind: 'dog', x: 1 })]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('leaves readOnly properties out of request schemas, and marks password fields sensitive', () => {
    const { schema } = convert(
      {
        U: {
          type: 'object',
          required: ['id', 'login'],
          properties: {
            id: { type: 'integer', readOnly: true },
            login: { type: 'string' },
            password: { type: 'string', format: 'password', writeOnly: true },
          },
        },
      },
      'U',
    );
    expect(schema).toEqual({
      type: 'object',
      required: ['login'],
      properties: { login: { type: 'string' }, password: { type: 'string', format: 'password', 'x-sensitive': true } },
    });
  });

  it('infers the type strict Ajv needs, and keeps a free-form object open', () => {
    const { schema } = convert(
      {
        S: {
          properties: {
            n: { minimum: 1 },
            s: { maxLength: 3 },
            meta: { type: 'object' },
            labels: { type: 'object', additionalProperties: { type: 'string' } },
          },
        },
      },
      'S',
    );
    expect(schema).toEqual({
      type: 'object',
      properties: {
        n: { type: 'number', minimum: 1 },
        s: { type: 'string', maxLength: 3 },
        meta: { type: 'object', additionalProperties: true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
      },
    });
    const ok = validator(schema);
    expect(ok({ n: 2, s: 'abc', meta: { any: [1] }, labels: { a: 'b' } })).toBe(true);
    expect(ok({ labels: { a: 1 } })).toBe(false);
  });

  it('closes a nullable object (the gateway closes only type "object")', () => {
    const { schema } = convert({ S: { type: 'object', nullable: true, properties: { a: { type: 'string' } } } }, 'S');
    expect(schema).toEqual({
      type: ['object', 'null'],
      properties: { a: { type: 'string' } },
      additionalProperties: false,
    });
    const ok = validator(schema);
    expect([ok(null), ok({ a: 'x' }), ok({ b: 1 })]).toEqual([true, true, false]);
  });

  it('reads 3.1 type arrays, examples and const, and keeps the annotations next to a $ref', () => {
    const { schema } = convert(
      {
        S: {
          type: 'object',
          properties: {
            a: { type: ['integer', 'null'], exclusiveMinimum: 0, examples: [1] },
            k: { const: 'fixed' },
            b: { $ref: '#/components/schemas/B', description: 'the b' },
          },
        },
        B: { type: 'string', description: 'a b' },
      },
      'S',
      '3.1.0',
    );
    expect(schema).toEqual({
      type: 'object',
      properties: {
        a: { type: ['integer', 'null'], exclusiveMinimum: 0, examples: [1] },
        k: { const: 'fixed' },
        b: { type: 'string', description: 'the b' },
      },
    });
  });

  it('drops property names the gateway refuses at intake', () => {
    const { schema, warnings } = convert(
      { S: { type: 'object', properties: JSON.parse('{"__proto__":{"type":"string"},"ok":{"type":"string"}}') } },
      'S',
    );
    expect(Object.keys(schema.properties as object)).toEqual(['ok']);
    expect(warnings.join()).toMatch(/property '__proto__' dropped/);
  });
});
