/**
 * `portcullis check`: validates a config and builds the tool catalog exactly as `start` does
 * (keys, schemas, handlers), without listening and without writing anything (no audit or demo
 * database, no generated key file), then prints the tool × role matrix. Problems
 * surface as the loader's or catalog's `PortcullisError`, which main.ts lists, one per line.
 */
import type { AuditTrail } from '../../audit/types.js';
import type { ToolConfig } from '../../config/types.js';
import { createGateway } from '../../gateway.js';
import { createLogger } from '../../observability/log.js';
import { parseCommandArgs } from '../args.js';
import { loadCliConfig, withSource } from '../config.js';
import type { CliContext } from '../context.js';
import { COMMAND_HELP } from '../help.js';

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `check` records nothing: the audit of a validation run would only be noise in the real trail. */
const discardingAudit: AuditTrail = {
  record: () => undefined,
  commit: () => Promise.resolve(),
  healthy: () => true,
  close: () => Promise.resolve(),
};

const YES = '\u2713';
const NO = '\u00b7';

/** Runs `portcullis check`; resolves with the exit code (problems are thrown). */
export async function runCheck(args: readonly string[], ctx: CliContext): Promise<number> {
  const flags = parseCommandArgs('check', args, OPTIONS);
  if (flags.help) {
    ctx.stdout(COMMAND_HELP.check);
    return 0;
  }
  const { config, demo, source } = loadCliConfig(ctx, { config: flags.config });
  // The same assembly as `start`: every schema compiled, every handler and key resolved.
  // Nothing is written or connected: no audit store, no key file, no demo database (checkOnly).
  const gateway = await createGateway(config, {
    logger: createLogger('silent'),
    audit: discardingAudit,
    checkOnly: true,
  }).catch((err: unknown) => {
    throw withSource(err, source);
  });
  const tools = [...gateway.catalog.all()].map((t) => t.config);
  await gateway.close();

  const issuers = config.auth.issuers.length;
  ctx.stdout(
    `config OK: ${tools.length} ${tools.length === 1 ? 'tool' : 'tools'}, ` +
      `${issuers} ${issuers === 1 ? 'issuer' : 'issuers'} (${demo ? 'embedded demo' : source})\n\n`,
  );
  const roles = config.auth.roles.length > 0 ? config.auth.roles : [...new Set(tools.flatMap((t) => t.roles))];
  ctx.stdout(formatMatrix(tools, roles));
  return 0;
}

/**
 * The tool × role matrix: one row per tool, one column per role (`✓` may use, `·` may not),
 * then flags (`!` destructive, `r` read-only, `t` tenant-bound) and required scopes if any.
 */
export function formatMatrix(tools: readonly ToolConfig[], roles: readonly string[]): string {
  const withScopes = tools.some((t) => t.scopes.length > 0);
  const header = ['tool', ...roles, 'flags', ...(withScopes ? ['scopes'] : [])];
  const rows = tools.map((t) => [
    t.name,
    ...roles.map((r) => (t.roles.includes(r) ? YES : NO)),
    flagsOf(t),
    ...(withScopes ? [t.scopes.join(' ')] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        // Role cells are centred under their heading; names, flags and scopes are left-aligned.
        if (i === 0 || i > roles.length) return cell.padEnd(width);
        const left = Math.floor((width - cell.length) / 2);
        return (' '.repeat(left) + cell).padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const legend = `\n${YES} allowed  ${NO} not allowed  flags: ! destructive (needs confirmation)  r read-only  t tenant-bound\n`;
  return [line(header), ...rows.map(line)].join('\n') + '\n' + legend;
}

function flagsOf(t: ToolConfig): string {
  return [t.destructive ? '!' : '', t.readOnly ? 'r' : '', t.tenantArg !== undefined ? 't' : '']
    .filter(Boolean)
    .join(' ');
}
