/**
 * OpenAPI import: the classic Petstore (3.0), a small 3.1 description with the hard cases, and
 * GitHub's REST description (~1000 operations) — names, arguments, mappings, policy flags, and
 * every generated schema compiled by the gateway's own strict compiler.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOL_NAME_PATTERN } from '../../../src/config/defaults.js';
import { closeObjects, compileValidator, createSchemaCompiler } from '../../../src/policy/schema.js';
import { OpenApiError } from '../../../src/tools/openapi/documents.js';
import { importOpenApi } from '../../../src/tools/openapi/import.js';
import type { GeneratedTool, ImportResult } from '../../../src/tools/openapi/types.js';
import { GITHUB_SPEC, PETSTORE, V31 } from './support.js';

const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-oas-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function byName(r: ImportResult): Map<string, GeneratedTool> {
  return new Map(r.tools.map((t) => [t.name, t]));
}

/** The tool's argument validator, compiled exactly as the gateway compiles it. */
function validatorOf(tool: GeneratedTool): (args: unknown) => string | undefined {
  return compileValidator(createSchemaCompiler(), closeObjects(tool.input) as Record<string, unknown>);
}

function writeSpec(name: string, spec: unknown): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, typeof spec === 'string' ? spec : JSON.stringify(spec));
  return file;
}

describe('OpenAPI import: Petstore 3.0', () => {
  const r = importOpenApi(PETSTORE, { upstream: 'petstore', roles: ['user'], roleMap: { 'write:pets': ['admin'] } });
  const tools = byName(r);

  it('makes one tool per operation, named by operationId', () => {
    expect(r.operations).toBe(19);
    expect([...tools.keys()].sort()).toEqual(
      [
        'addPet',
        'createUser',
        'createUsersWithListInput',
        'deleteOrder',
        'deletePet',
        'deleteUser',
        'findPetsByStatus',
        'findPetsByTags',
        'getInventory',
        'getOrderById',
        'getPetById',
        'getUserByName',
        'loginUser',
        'logoutUser',
        'placeOrder',
        'updatePet',
        'updatePetWithForm',
        'updateUser',
        'uploadFile',
      ].sort(),
    );
  });

  it('marks GET as readOnly, DELETE as destructive with a required confirm, and PUT for review', () => {
    const get = tools.get('getPetById')!;
    expect(get).toMatchObject({ readOnly: true, http: { method: 'GET', path: '/pet/{petId}', upstream: 'petstore' } });
    expect(get.destructive).toBeUndefined();
    const del = tools.get('deletePet')!;
    expect(del.destructive).toBe(true);
    expect(del.readOnly).toBeUndefined();
    expect(del.input.required).toEqual(['petId', 'confirm']);
    expect(del.input.properties).toMatchObject({ confirm: { type: 'boolean' } });
    expect([...r.review.keys()].sort()).toEqual(['updatePet', 'updateUser']);
    expect(tools.get('addPet')!.readOnly).toBeUndefined();
  });

  it('never makes the API key header an argument (the gateway holds upstream credentials)', () => {
    const del = tools.get('deletePet')!;
    expect(Object.keys(del.input.properties as object)).toEqual(['petId', 'confirm']);
    expect(del.http.headers).toBeUndefined();
  });

  it('takes scopes from the security requirements and roles from the role map, else the default roles', () => {
    expect(tools.get('addPet')).toMatchObject({ scopes: ['write:pets', 'read:pets'], roles: ['admin'] });
    expect(tools.get('getInventory')!.scopes).toBeUndefined();
    expect(tools.get('getInventory')!.roles).toEqual(['user']);
    expect(tools.get('placeOrder')!.roles).toEqual(['user']);
  });

  it('maps the JSON request body to one argument, body, with $refs resolved', () => {
    const add = tools.get('addPet')!;
    expect(add.http).toEqual({ upstream: 'petstore', method: 'POST', path: '/pet', body: { arg: 'body' } });
    expect(add.input).toEqual({
      type: 'object',
      required: ['body'],
      properties: {
        body: {
          type: 'object',
          description: 'Create a new pet in the store',
          required: ['name', 'photoUrls'],
          properties: {
            id: { type: 'integer', format: 'int64' },
            name: { type: 'string' },
            category: {
              type: 'object',
              properties: { id: { type: 'integer', format: 'int64' }, name: { type: 'string' } },
            },
            photoUrls: { type: 'array', items: { type: 'string' } },
            tags: {
              type: 'array',
              items: {
                type: 'object',
                properties: { id: { type: 'integer', format: 'int64' }, name: { type: 'string' } },
              },
            },
            status: { type: 'string', description: 'pet status in the store', enum: ['available', 'pending', 'sold'] },
          },
        },
      },
    });
    const validate = validatorOf(add);
    expect(
      validate({ body: { name: 'Rex', photoUrls: [], status: 'sold', tags: [{ id: 1, name: 't' }] } }),
    ).toBeUndefined();
    expect(validate({ body: { name: 'Rex' } })).toMatch(/photoUrls/);
    expect(validate({ body: { name: 'Rex', photoUrls: [], owner: 'x' } })).toMatch(/unexpected argument 'body\/owner'/);
    expect(validate({ body: { name: 'Rex', photoUrls: [], status: 'lost' } })).toMatch(/status/);
  });

  it('maps path and query parameters, arrays included', () => {
    expect(tools.get('updatePetWithForm')!).toMatchObject({
      http: { path: '/pet/{petId}', query: { name: 'name', status: 'status' } },
      input: {
        required: ['petId'],
        properties: { petId: { type: 'integer', description: 'ID of pet that needs to be updated' } },
      },
    });
    const tags = tools.get('findPetsByTags')!;
    expect(tags.http.query).toEqual({ tags: 'tags' });
    expect(tags.input.properties).toEqual({
      tags: { type: 'array', items: { type: 'string' }, description: 'Tags to filter by' },
    });
    expect(validatorOf(tags)({ tags: ['a', 'b'] })).toBeUndefined();
    expect(validatorOf(tools.get('getPetById')!)({ petId: '12' })).toMatch(/petId/);
  });

  it('imports an operation with an optional non-JSON body without the body, and says so', () => {
    expect(Object.keys(tools.get('uploadFile')!.input.properties as object)).toEqual(['petId', 'additionalMetadata']);
    expect(r.warnings).toContainEqual(
      expect.stringMatching(/uploadImage: optional request body application\/octet-stream/),
    );
  });

  it('compiles every generated schema with the gateway compiler', () => {
    for (const t of r.tools) expect(() => validatorOf(t), t.name).not.toThrow();
  });
});

describe('OpenAPI import: 3.1 and the hard cases', () => {
  const r = importOpenApi(V31);
  const tools = byName(r);

  it('sanitises operationIds and keeps names unique; an operation without one is named by method and path', () => {
    expect([...tools.keys()]).toEqual([
      'folders_get',
      'folders_replace',
      'folders_rename',
      'folders_delete',
      'post_folders',
      'folders_get_2',
    ]);
    for (const name of tools.keys()) expect(name).toMatch(TOOL_NAME_PATTERN);
  });

  it('renames a parameter that collides with another, and never takes confirm', () => {
    const get = tools.get('folders_get')!;
    expect(get.http).toEqual({
      upstream: 'api',
      method: 'GET',
      path: '/folders/{id}',
      query: { id: 'id_query', depth: 'depth' },
      headers: { 'X-Request-Id': 'X-Request-Id' },
    });
    expect(get.input.required).toEqual(['id']);
    expect(tools.get('folders_delete')!.http.query).toEqual({ confirm: 'confirm_query' });
  });

  it('leaves out Authorization, cookies and API-key security parameters', () => {
    const props = Object.keys(tools.get('folders_get')!.input.properties as object);
    expect(props).toEqual(['id', 'id_query', 'depth', 'X-Request-Id']);
    expect(r.warnings).toContainEqual(expect.stringMatching(/cookie parameter 'session'.*left out/));
  });

  it('reads roles and destructiveness from x-portcullis-* extensions, and scopes per operation', () => {
    expect(tools.get('folders_get')).toMatchObject({ roles: ['reader'], scopes: ['folders:read'], readOnly: true });
    expect(tools.get('folders_replace')).toMatchObject({ roles: ['editor'], scopes: ['folders:write'] });
    expect(tools.get('folders_rename')).toMatchObject({ destructive: true, scopes: ['folders:write'] });
    expect(tools.get('folders_delete')!.destructive).toBeUndefined();
    expect([...r.review.keys()]).toEqual(['folders_replace']);
  });

  it('keeps recursion as $defs, follows a file reference, and drops readOnly and vendor properties of the body', () => {
    const replace = tools.get('folders_replace')!;
    expect(replace.input.properties).toMatchObject({ body: { $ref: '#/$defs/Folder' } });
    const folder = (replace.input.$defs as Record<string, Record<string, unknown>>).Folder!;
    expect(Object.keys(folder.properties as object)).toEqual([
      'name',
      'color',
      'secret',
      'owner',
      'children',
      'x-internal',
    ]);
    expect(folder.properties).toMatchObject({
      secret: { 'x-sensitive': true },
      children: { items: { $ref: '#/$defs/Folder' } },
      owner: { type: 'object', required: ['login'], properties: { ref: { type: 'string' } } },
    });
    const validate = validatorOf(replace);
    const ok = { id: 'f-1', body: { name: 'A', color: null, children: [{ name: 'B', children: [{ name: 'C' }] }] } };
    expect(validate(ok)).toBeUndefined();
    expect(validate({ id: 'f-1', body: { name: 'A', id: 'x' } })).toMatch(/unexpected argument 'body\/id'/);
    expect(validate({ id: 'F_1', body: { name: 'A' } })).toMatch(/'id' must match pattern/);
  });

  it('merges an allOf body and accepts a JSON media type with parameters or a +json suffix', () => {
    const rename = tools.get('folders_rename')!;
    expect(rename.input.properties).toMatchObject({
      body: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, note: { maxLength: 200 } } },
    });
    expect(tools.get('folders_replace')!.http.body).toEqual({ arg: 'body' });
    expect(tools.get('post_folders')!.input.properties).toMatchObject({
      body: { description: 'The new folder (a $ref sibling, kept in 3.1)' },
    });
  });

  it('skips what the http backend cannot send, with a reason for each', () => {
    expect(r.operations).toBe(9);
    expect(r.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/POST \/folders\/\{id\}\/upload: request body multipart\/form-data is not JSON; skipped/),
        expect.stringMatching(/GET \/folders\/\{id\}\/search: required query parameter 'filter' is an object/),
        expect.stringMatching(/OPTIONS \/folders\/\{id\}\/owner: method not supported/),
      ]),
    );
  });

  it('includes and excludes by tag, path and operationId; exclusion wins', () => {
    const only = (filter: Parameters<typeof importOpenApi>[1]) =>
      importOpenApi(PETSTORE, filter).tools.map((t) => t.name);
    expect(only({ filter: { include: { tags: ['store'] } } })).toEqual(
      ['placeOrder', 'getOrderById', 'deleteOrder', 'getInventory'].sort((a, b) => order(a) - order(b)),
    );
    expect(only({ filter: { include: { paths: ['/user'] }, exclude: { operations: ['deleteUser'] } } })).toEqual([
      'createUser',
      'createUsersWithListInput',
      'loginUser',
      'logoutUser',
      'getUserByName',
      'updateUser',
    ]);
    expect(only({ filter: { include: { paths: ['/pet/*'] } } })).toEqual([
      'findPetsByStatus',
      'findPetsByTags',
      'getPetById',
      'updatePetWithForm',
      'deletePet',
    ]);
    expect(only({ filter: { include: { paths: ['/pet/**'] }, exclude: { tags: ['pet'] } } })).toEqual([]);
    expect(only({ prefix: 'pets_', filter: { include: { operations: ['getPetById'] } } })).toEqual(['pets_getPetById']);
  });
});

/** Petstore's operations in document order (for the filter test). */
function order(name: string): number {
  return importOpenApi(PETSTORE).tools.findIndex((t) => t.name === name);
}

describe('OpenAPI import: references and refusals', () => {
  const op = (schema: unknown) => ({
    openapi: '3.0.3',
    info: { title: 't', version: '1' },
    paths: {
      '/x': {
        post: {
          operationId: 'x',
          requestBody: { required: true, content: { 'application/json': { schema } } },
          responses: {},
        },
      },
    },
  });

  it('refuses network references without fetching them, and skips the operation', () => {
    for (const ref of [
      'https://example.com/s.json#/S',
      'http://127.0.0.1:1/s.json',
      '//example.com/s.json',
      'file:///etc/passwd',
    ]) {
      const r = importOpenApi(writeSpec('remote.json', op({ $ref: ref })));
      expect(r.tools).toEqual([]);
      expect(r.warnings).toEqual([expect.stringMatching(/only local references are allowed/)]);
    }
  });

  it('refuses a file reference outside the spec directory, also through a symbolic link', () => {
    writeSpec('outside.json', { S: { type: 'string' } });
    const r = importOpenApi(writeSpec('inner/spec.json', op({ $ref: '../outside.json#/S' })));
    expect(r.warnings).toEqual([expect.stringMatching(/outside the spec's directory/)]);
    symlinkSync(path.join(dir, 'outside.json'), path.join(dir, 'inner/link.json'));
    const viaLink = importOpenApi(writeSpec('inner/spec2.json', op({ $ref: 'link.json#/S' })));
    expect(viaLink.warnings).toEqual([expect.stringMatching(/outside the spec's directory/)]);
  });

  it('follows a file reference inside the spec directory', () => {
    writeSpec('ok/parts/s.yaml', 'S:\n  type: object\n  properties:\n    a: { $ref: "#/A" }\nA: { type: integer }\n');
    const r = importOpenApi(writeSpec('ok/spec.json', op({ $ref: './parts/s.yaml#/S' })));
    expect(r.tools[0]!.input.properties).toEqual({ body: { type: 'object', properties: { a: { type: 'integer' } } } });
  });

  it('refuses Swagger 2.0, unknown versions and unreadable files as a whole', () => {
    expect(() => importOpenApi(writeSpec('s2.json', { swagger: '2.0', paths: {} }))).toThrow(
      /Swagger 2.0 is not supported/,
    );
    expect(() => importOpenApi(writeSpec('v4.json', { openapi: '4.0.0', paths: {} }))).toThrow(OpenApiError);
    expect(() => importOpenApi(path.join(dir, 'missing.yaml'))).toThrow(/cannot read spec/);
    expect(() => importOpenApi(writeSpec('bad.yaml', 'a: [\n'))).toThrow(/not valid YAML/);
  });

  it('refuses a YAML alias bomb', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++) {
      const prev = String.fromCharCode(97 + i);
      const next = String.fromCharCode(98 + i);
      lines.push(
        `${next}: &${next} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`,
      );
    }
    expect(() => importOpenApi(writeSpec('bomb.yaml', `openapi: 3.0.0\n${lines.join('\n')}\npaths: {}\n`))).toThrow(
      /resource exhaustion/,
    );
  });
});

describe("OpenAPI import: GitHub's REST description", () => {
  let r: ImportResult;
  let tools: Map<string, GeneratedTool>;
  beforeAll(() => {
    r = importOpenApi(GITHUB_SPEC, { upstream: 'github', roles: ['user'] });
    tools = byName(r);
  });

  it('imports every one of its ~1000 operations, with unique valid names', () => {
    expect(r.operations).toBeGreaterThan(900);
    expect(r.tools.length).toBe(r.operations);
    expect(new Set(r.tools.map((t) => t.name)).size).toBe(r.tools.length);
    for (const t of r.tools) expect(t.name).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
  });

  it('compiles every generated schema with the gateway compiler (strict Ajv, closed objects)', () => {
    const ajv = createSchemaCompiler();
    const failures: string[] = [];
    for (const t of r.tools) {
      try {
        compileValidator(ajv, closeObjects(t.input) as Record<string, unknown>);
      } catch (err) {
        failures.push(`${t.name}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('sets the policy flags by method', () => {
    const count = (m: string) => r.tools.filter((t) => t.http.method === m).length;
    expect(r.tools.filter((t) => t.readOnly).length).toBe(count('GET') + count('HEAD'));
    expect(r.tools.filter((t) => t.destructive).length).toBe(count('DELETE'));
    expect(r.review.size).toBe(count('PUT') + count('PATCH'));
  });

  it('generates the expected schema for repos/get', () => {
    expect(tools.get('repos_get')).toMatchObject({
      title: 'Get a repository',
      readOnly: true,
      roles: ['user'],
      http: { upstream: 'github', method: 'GET', path: '/repos/{owner}/{repo}' },
      input: {
        type: 'object',
        required: ['owner', 'repo'],
        properties: {
          owner: { type: 'string', description: expect.stringMatching(/account owner/) },
          repo: { type: 'string' },
        },
      },
    });
    expect(Object.keys(tools.get('repos_get')!.input.properties as object)).toEqual(['owner', 'repo']);
  });

  it('generates the expected schema for issues/create, a body with oneOf and nullable fields', () => {
    const t = tools.get('issues_create')!;
    expect(t.http).toEqual({
      upstream: 'github',
      method: 'POST',
      path: '/repos/{owner}/{repo}/issues',
      body: { arg: 'body' },
    });
    expect(t.input.required).toEqual(['owner', 'repo', 'body']);
    expect(t.input.properties).toMatchObject({
      body: {
        type: 'object',
        required: ['title'],
        properties: {
          title: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
          body: { type: 'string' },
          assignee: { type: ['string', 'null'] },
          milestone: { anyOf: [{ oneOf: [{ type: 'string' }, { type: 'integer' }] }, { type: 'null' }] },
          labels: { type: 'array' },
          assignees: { type: 'array', items: { type: 'string' } },
        },
      },
    });
    const validate = validatorOf(t);
    expect(
      validate({ owner: 'o', repo: 'r', body: { title: 'Bug', labels: ['bug', { name: 'x' }], milestone: null } }),
    ).toBeUndefined();
    expect(validate({ owner: 'o', repo: 'r', body: { labels: [] } })).toMatch(/title/);
    expect(validate({ owner: 'o', repo: 'r', body: { title: 'x', unknown: 1 } })).toMatch(
      /unexpected argument 'body\/unknown'/,
    );
  });

  it('generates the expected schema for issues/list-for-repo: typed, bounded query parameters', () => {
    const t = tools.get('issues_list-for-repo')!;
    expect(t.http.query).toMatchObject({ state: 'state', per_page: 'per_page', page: 'page', labels: 'labels' });
    expect(t.input.properties).toMatchObject({
      state: { type: 'string', enum: ['open', 'closed', 'all'], default: 'open' },
      per_page: { type: 'integer', default: 30 },
      since: { type: 'string', format: 'date-time' },
    });
    const validate = validatorOf(t);
    expect(validate({ owner: 'o', repo: 'r', state: 'open', per_page: 50 })).toBeUndefined();
    expect(validate({ owner: 'o', repo: 'r', state: 'gone' })).toMatch(/state/);
    expect(validate({ owner: 'o', repo: 'r', since: 'yesterday' })).toMatch(/since/);
  });

  it('generates a destructive tool with a required confirm for repos/delete', () => {
    expect(tools.get('repos_delete')).toMatchObject({
      destructive: true,
      http: { method: 'DELETE', path: '/repos/{owner}/{repo}' },
      input: { required: ['owner', 'repo', 'confirm'], properties: { confirm: { type: 'boolean' } } },
    });
  });
});
