/**
 * What an OpenAPI import produces: tool definitions in the config's own shape (a `tools:` entry
 * with an `http` backend, see the README), plus what the operator should look at.
 */
import type { HttpMethod } from '../../config/types.js';
import type { RawHttpBackend } from '../http/config.js';
import type { OperationFilter } from './filter.js';
import type { Schema } from './schema.js';

export type { HttpMethod };

/** The `http:` block of a generated tool: the config's own shape, the body always one argument. */
export type HttpMapping = Omit<RawHttpBackend, 'body' | 'tenant' | 'successStatus'> & { body?: { arg: string } };

/** One generated `tools:` entry. */
export interface GeneratedTool {
  name: string;
  title?: string;
  description: string;
  roles: string[];
  scopes?: string[];
  readOnly?: true;
  destructive?: true;
  input: Schema;
  http: HttpMapping;
}

export interface ImportOptions {
  /** The upstream every tool calls (default `api`). */
  upstream?: string;
  /** Roles of an operation without `x-portcullis-roles` whose scopes map to no role. */
  roles?: readonly string[];
  /** Security scope → roles. */
  roleMap?: Readonly<Record<string, readonly string[]>>;
  /** Prepended to every tool name. */
  prefix?: string;
  filter?: OperationFilter;
}

export interface ImportResult {
  tools: GeneratedTool[];
  /** Tool name → why a person should review it (PUT/PATCH: may overwrite or remove data). */
  review: Map<string, string>;
  /** Operations not imported, and conversions that lost something. */
  warnings: string[];
  /** Operations in the spec, and how many the filter left out. */
  operations: number;
  filtered: number;
  /** Absolute base URLs from the spec's `servers`, for the operator's `upstreams:` entry. */
  servers: string[];
  title: string;
}

/** The roles of an operation without any other source (least privilege). */
export const DEFAULT_ROLES: readonly string[] = ['admin'];
export const DEFAULT_UPSTREAM = 'api';
