/**
 * Argument parsing: `node:util` parseArgs in strict mode, with its errors turned into usage
 * errors (exit 2) that name the command, plus the parsers for option values (ports, durations,
 * lists). Nothing here reads the environment or prints.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { ErrorCodes, PortcullisError } from '../errors.js';

/** The option table of one command, as `parseArgs` takes it. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

interface StrictConfig<O extends OptionSpec> {
  args: string[];
  options: O;
  strict: true;
  allowPositionals: false;
}

/** The typed option values of a command with option table `O`. */
export type ParsedFlags<O extends OptionSpec> = ReturnType<typeof parseArgs<StrictConfig<O>>>['values'];

/** A usage error: bad command, flag or value. The CLI exits with 2. */
export function usageError(message: string): PortcullisError {
  return new PortcullisError(ErrorCodes.USAGE, message);
}

/**
 * Parses a command's arguments strictly: unknown options, missing values and stray positionals
 * are usage errors that point at the command's `--help`.
 */
export function parseCommandArgs<const O extends OptionSpec>(
  command: string,
  args: readonly string[],
  options: O,
): ParsedFlags<O> {
  try {
    const config: StrictConfig<O> = { args: [...args], options, strict: true, allowPositionals: false };
    return parseArgs(config).values;
  } catch (err) {
    throw usageError(`${command}: ${describeParseError(err)} (see 'portcullis ${command} --help')`);
  }
}

/** Like `parseCommandArgs`, for a command that also takes positional arguments (`openapi SPEC`). */
export function parseCommandLine<const O extends OptionSpec>(
  command: string,
  args: readonly string[],
  options: O,
): { values: ParsedFlags<O>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
    return { values, positionals };
  } catch (err) {
    throw usageError(`${command}: ${describeParseError(err)} (see 'portcullis ${command} --help')`);
  }
}

function describeParseError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${quoted}'`;
    default:
      // ERR_PARSE_ARGS_INVALID_OPTION_VALUE: "Option '--port <value>' argument missing", …
      return (message.split('. ')[0] ?? message).replace(/^Option/, 'option');
  }
}

/** A TCP port, 0–65535 (0: any free port). `source` names where the value came from. */
export function parsePort(value: string, source: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 0 && port <= 65535)) throw usageError(`${source}: '${value}' is not a port number (0-65535)`);
  return port;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** A duration in whole seconds: `90s`, `15m`, `2h`, `1d` or a bare number of seconds. */
export function parseDuration(value: string, source: string): number {
  const m = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  if (!m) throw usageError(`${source}: '${value}' is not a duration (e.g. 90s, 15m, 2h, 1d, or seconds)`);
  return Number(m[1]) * (UNIT_SECONDS[m[2] || 's'] ?? 1);
}

/** A list given as one argument, separated by commas and/or whitespace; empty items dropped. */
export function parseList(value: string): string[] {
  return value.split(/[\s,]+/).filter((item) => item.length > 0);
}
