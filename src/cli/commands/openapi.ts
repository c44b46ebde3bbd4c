/**
 * `portcullis openapi SPEC`: imports an OpenAPI 3.0/3.1 description (tools/openapi) and writes
 * the tool definitions as a config fragment (stdout or --out), with a summary and every warning
 * on stderr. A spec that cannot be used is a usage-class error (exit 2), like a bad config.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { escapeLogString } from '../../audit/escape.js';
import { ErrorCodes, PortcullisError } from '../../errors.js';
import { OpenApiError } from '../../tools/openapi/documents.js';
import { importOpenApi } from '../../tools/openapi/import.js';
import { defuseEnvRefs, renderTools } from '../../tools/openapi/render.js';
import { DEFAULT_UPSTREAM } from '../../tools/openapi/types.js';
import type { ImportOptions, ImportResult } from '../../tools/openapi/types.js';
import { parseCommandLine, parseList, usageError } from '../args.js';
import type { CliContext } from '../context.js';
import { COMMAND_HELP } from '../help.js';

const OPTIONS = {
  out: { type: 'string', short: 'o' },
  upstream: { type: 'string' },
  'base-url': { type: 'string' },
  roles: { type: 'string' },
  'role-map': { type: 'string', multiple: true },
  prefix: { type: 'string' },
  'include-tag': { type: 'string', multiple: true },
  'exclude-tag': { type: 'string', multiple: true },
  'include-path': { type: 'string', multiple: true },
  'exclude-path': { type: 'string', multiple: true },
  'include-operation': { type: 'string', multiple: true },
  'exclude-operation': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const ROLE = /^[A-Za-z0-9_.:@-]{1,128}$/;
const MAX_WARNINGS_SHOWN = 50;

/** Runs `portcullis openapi`; resolves with the exit code. */
export async function runOpenApi(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values: flags, positionals } = parseCommandLine('openapi', args, OPTIONS);
  if (flags.help) {
    ctx.stdout(COMMAND_HELP.openapi);
    return 0;
  }
  const [spec, ...extra] = positionals;
  if (spec === undefined) throw usageError(`openapi: SPEC is required (see 'portcullis openapi --help')`);
  if (extra.length > 0) throw usageError(`openapi: unexpected argument '${extra[0] ?? ''}'`);
  const upstream = flags.upstream ?? DEFAULT_UPSTREAM;
  if (!NAME.test(upstream))
    throw usageError(`--upstream: '${upstream}' is not a valid upstream name ([A-Za-z0-9_-], 1-64)`);
  const prefix = flags.prefix ?? '';
  if (!/^[A-Za-z0-9_-]{0,64}$/.test(prefix)) throw usageError(`--prefix: only [A-Za-z0-9_-] allowed, at most 64`);
  const baseUrl = flags['base-url'] === undefined ? undefined : checkBaseUrl(flags['base-url']);
  const roles = flags.roles === undefined ? undefined : parseRoles(flags.roles, '--roles');
  const options: ImportOptions = {
    upstream,
    prefix,
    ...(roles && { roles }),
    ...(flags['role-map'] && { roleMap: parseRoleMap(flags['role-map']) }),
    filter: {
      include: {
        tags: flags['include-tag'] ?? [],
        paths: flags['include-path'] ?? [],
        operations: flags['include-operation'] ?? [],
      },
      exclude: {
        tags: flags['exclude-tag'] ?? [],
        paths: flags['exclude-path'] ?? [],
        operations: flags['exclude-operation'] ?? [],
      },
    },
  };

  let result: ImportResult;
  try {
    result = importOpenApi(path.resolve(ctx.cwd, spec), options);
  } catch (err) {
    if (err instanceof OpenApiError) {
      throw new PortcullisError(ErrorCodes.CONFIG_INVALID, `${spec}: ${escapeLogString(err.message)}`);
    }
    throw err;
  }
  if (result.tools.length === 0) {
    throw new PortcullisError(
      ErrorCodes.CONFIG_INVALID,
      `${spec}: no operation imported (${result.operations} in the spec, ${result.filtered} left out by the filters)`,
      result.warnings.slice(0, MAX_WARNINGS_SHOWN).map((w) => escapeLogString(w)),
    );
  }
  for (const name of defuseEnvRefs(result)) {
    result.warnings.push(
      `${name}: text like \${env:…} would be interpolated by the config loader; written as $ {env:…}`,
    );
  }
  const yaml = renderTools(result, { source: spec, upstream, ...(baseUrl !== undefined && { baseUrl }) });
  if (flags.out === undefined) ctx.stdout(yaml);
  else {
    try {
      await writeFile(path.resolve(ctx.cwd, flags.out), yaml);
    } catch {
      throw new Error(`cannot write ${flags.out}`);
    }
  }
  ctx.stderr(summary(spec, result));
  return 0;
}

function summary(spec: string, r: ImportResult): string {
  const count = (pred: (t: ImportResult['tools'][number]) => boolean): number => r.tools.filter(pred).length;
  const lines = [
    `portcullis: ${r.tools.length} tool${r.tools.length === 1 ? '' : 's'} from ${r.operations} operations in ${spec}` +
      ` (${count((t) => t.readOnly === true)} read-only, ${count((t) => t.destructive === true)} destructive,` +
      ` ${r.review.size} PUT/PATCH to review${r.filtered > 0 ? `, ${r.filtered} left out by the filters` : ''})`,
  ];
  if (r.warnings.length > 0) {
    lines.push(`portcullis: ${r.warnings.length} warning(s):`);
    // Warnings quote the spec (paths, names): escaped, so a spec cannot drive the terminal.
    lines.push(...r.warnings.slice(0, MAX_WARNINGS_SHOWN).map((w) => `  - ${escapeLogString(w)}`));
    if (r.warnings.length > MAX_WARNINGS_SHOWN) lines.push(`  … and ${r.warnings.length - MAX_WARNINGS_SHOWN} more`);
  }
  return `${lines.join('\n')}\n`;
}

function checkBaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`--base-url: '${text}' is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw usageError('--base-url: must be https (or http for dev)');
  if (url.username || url.password || url.search || url.hash || text.includes('?') || text.includes('#')) {
    throw usageError('--base-url: no credentials, query or fragment');
  }
  return text.replace(/\/+$/, '');
}

function parseRoles(value: string, source: string): string[] {
  const roles = parseList(value);
  if (roles.length === 0) throw usageError(`${source}: needs at least one role`);
  for (const r of roles) if (!ROLE.test(r)) throw usageError(`${source}: '${r}' is not a valid role name`);
  return roles;
}

/** `scope=role1+role2` (repeatable). */
function parseRoleMap(entries: readonly string[]): Record<string, string[]> {
  const map = new Map<string, string[]>();
  for (const entry of entries) {
    const eq = entry.lastIndexOf('=');
    const scope = eq > 0 ? entry.slice(0, eq) : '';
    if (scope === '' || /\s/.test(scope)) throw usageError(`--role-map: '${entry}' is not scope=role1+role2`);
    const roles = parseRoles(entry.slice(eq + 1).replace(/\+/g, ','), '--role-map');
    map.set(scope, [...(map.get(scope) ?? []), ...roles]);
  }
  return Object.fromEntries(map);
}
