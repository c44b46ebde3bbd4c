/**
 * The spec's documents and `$ref` resolution. A spec is one local file (JSON or YAML); its
 * `$ref`s resolve within it (`#/components/...`) or to other local files in the spec's own
 * directory tree (`common.yaml#/Pet`). Network references are refused, never fetched
 * (SEC-UP-06: "MUST NOT automatically dereference `$ref` values that resolve to a network URI"),
 * and so is a file outside the spec's directory (symbolic links included).
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';

/** Refuses specs larger than this (GitHub's REST description is about 13 MB). */
export const MAX_SPEC_BYTES = 64 * 1024 * 1024;
/** A chain of references that only point at other references ends here. */
const MAX_REF_HOPS = 64;

/** A spec problem that stops the import: bad file, bad reference, unsupported version. */
export class OpenApiError extends Error {
  override readonly name = 'OpenApiError';
}

/** What a reference points at, with the key that identifies the target across the spec. */
export interface Resolved {
  /** `<real file path>#<pointer>`: equal keys are the same target. */
  readonly key: string;
  readonly file: string;
  readonly value: unknown;
}

export class SpecDocuments {
  readonly rootFile: string;
  readonly #rootDir: string;
  readonly #docs = new Map<string, unknown>();

  private constructor(rootFile: string, rootDir: string) {
    this.rootFile = rootFile;
    this.#rootDir = rootDir;
  }

  /** Opens the spec file (its directory bounds every file reference). */
  static open(file: string): SpecDocuments {
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      throw new OpenApiError(`cannot read spec ${file}`);
    }
    const docs = new SpecDocuments(real, path.dirname(real));
    docs.#load(real);
    return docs;
  }

  get root(): unknown {
    return this.#docs.get(this.rootFile);
  }

  /** Resolves `ref` written in `fromFile`, following references to references. */
  resolve(ref: string, fromFile: string): Resolved {
    let target = this.#resolveOnce(ref, fromFile);
    for (let hops = 0; isRef(target.value); hops++) {
      if (hops >= MAX_REF_HOPS) throw new OpenApiError(`$ref '${ref}': too many references to references`);
      target = this.#resolveOnce(target.value.$ref, target.file);
    }
    return target;
  }

  #resolveOnce(ref: string, fromFile: string): Resolved {
    const hash = ref.indexOf('#');
    const filePart = hash === -1 ? ref : ref.slice(0, hash);
    const pointer = hash === -1 ? '' : ref.slice(hash + 1);
    const file = filePart === '' ? fromFile : this.#localFile(filePart, fromFile, ref);
    const doc = this.#docs.get(file) ?? this.#load(file);
    const tokens = parsePointer(pointer, ref);
    let value: unknown = doc;
    for (const token of tokens) {
      if (Array.isArray(value) && /^(0|[1-9]\d*)$/.test(token) && Number(token) < value.length)
        value = value[Number(token)];
      else if (isObject(value) && Object.hasOwn(value, token)) value = value[token];
      else throw new OpenApiError(`$ref '${ref}' points at nothing`);
    }
    return { key: `${file}#/${tokens.map(escapeToken).join('/')}`, file, value };
  }

  /** A file reference: a relative or absolute local path inside the spec's directory. */
  #localFile(filePart: string, fromFile: string, ref: string): string {
    // Any URI scheme (http:, https:, file:, …) or a network-path reference ("//host/…").
    if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(filePart) || filePart.startsWith('//')) {
      throw new OpenApiError(`$ref '${ref}': only local references are allowed (network references are refused)`);
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(filePart);
    } catch {
      throw new OpenApiError(`$ref '${ref}': malformed file reference`);
    }
    let real: string;
    try {
      real = realpathSync(path.resolve(path.dirname(fromFile), decoded));
    } catch {
      throw new OpenApiError(`$ref '${ref}': file not found`);
    }
    const rel = path.relative(this.#rootDir, real);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new OpenApiError(`$ref '${ref}': files outside the spec's directory are refused`);
    }
    return real;
  }

  #load(file: string): unknown {
    const doc = parseSpecText(readSpecFile(file), file);
    this.#docs.set(file, doc);
    return doc;
  }
}

function readSpecFile(file: string): string {
  try {
    if (statSync(file).size > MAX_SPEC_BYTES) throw new OpenApiError(`${path.basename(file)}: larger than 64 MiB`);
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof OpenApiError) throw err;
    throw new OpenApiError(`cannot read ${path.basename(file)}`);
  }
}

/** JSON when it looks like JSON (much faster for large specs), YAML otherwise. */
export function parseSpecText(text: string, file: string): unknown {
  const name = path.basename(file);
  if (file.endsWith('.json') || /^\s*\{/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new OpenApiError(`${name}: not valid JSON (${(err as Error).message})`);
    }
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) throw new OpenApiError(`${name}: not valid YAML (${first.message.split('\n')[0] ?? ''})`);
  try {
    // Bounded alias expansion: a "billion laughs" document fails instead of exhausting memory.
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (err) {
    throw new OpenApiError(`${name}: ${(err as Error).message}`);
  }
}

/** RFC 6901 pointer from a URI fragment (percent-decoded first, RFC 3986 §3.5). */
function parsePointer(pointer: string, ref: string): string[] {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pointer);
  } catch {
    throw new OpenApiError(`$ref '${ref}': malformed pointer`);
  }
  if (decoded === '') return [];
  if (!decoded.startsWith('/')) throw new OpenApiError(`$ref '${ref}': only JSON Pointer fragments are supported`);
  return decoded
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function isRef(value: unknown): value is { $ref: string } {
  return isObject(value) && typeof value.$ref === 'string';
}
