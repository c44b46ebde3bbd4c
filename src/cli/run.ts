/**
 * Command dispatch: argv (without `node` and the script) → help, version or one command.
 * Also maps an error to its exit code: 2 for usage and configuration errors, 1 for the rest.
 */
import { ErrorCodes, PortcullisError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { VERSION } from '../version.js';
import { usageError } from './args.js';
import { runAudit } from './commands/audit.js';
import { runCheck } from './commands/check.js';
import { runOpenApi } from './commands/openapi.js';
import { runStart } from './commands/start.js';
import { runToken } from './commands/token.js';
import type { CliContext } from './context.js';
import { COMMAND_HELP, MAIN_HELP } from './help.js';

type Command = (args: readonly string[], ctx: CliContext) => Promise<number>;

const COMMANDS: Readonly<Record<keyof typeof COMMAND_HELP, Command>> = {
  start: runStart,
  token: runToken,
  check: runCheck,
  audit: runAudit,
  openapi: runOpenApi,
};

/** Exit codes of the CLI (DESIGN "CLI"). */
export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

/** Runs the CLI; resolves with the exit code. Errors are thrown for main.ts to report. */
export async function run(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    ctx.stderr(MAIN_HELP);
    return ExitCode.USAGE;
  }
  if (first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic === undefined) ctx.stdout(MAIN_HELP);
    else if (isCommand(topic)) ctx.stdout(COMMAND_HELP[topic]);
    else throw unknownCommand(topic);
    return ExitCode.OK;
  }
  if (first === '-v' || first === '--version') {
    ctx.stdout(`${VERSION}\n`);
    return ExitCode.OK;
  }
  if (!isCommand(first)) throw first.startsWith('-') ? usageError(`unknown option ${first}`) : unknownCommand(first);
  return COMMANDS[first](rest, ctx);
}

function isCommand(name: string): name is keyof typeof COMMANDS {
  return Object.hasOwn(COMMANDS, name);
}

function unknownCommand(name: string): PortcullisError {
  return usageError(
    `unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')}; see 'portcullis --help')`,
  );
}

/** Codes that mean "fix the command line or the config" rather than "something failed at run time". */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCodes.USAGE,
  ErrorCodes.CONFIG_INVALID,
  ErrorCodes.CONFIG_NOT_FOUND,
  ErrorCodes.KEY_LOAD,
  ErrorCodes.TOOL_LOAD,
  ErrorCodes.TLS_LOAD,
]);

/** The exit code for an error a command threw. */
export function exitCodeFor(err: unknown): number {
  return err instanceof PortcullisError && USAGE_CODES.has(err.code) ? ExitCode.USAGE : ExitCode.FAILURE;
}

/** The error as the user sees it: `portcullis: message`, then each problem on its own line. */
export function formatError(err: unknown, debug: boolean): string {
  const message = err instanceof Error ? err.message : String(err);
  const lines = [`portcullis: ${message}`];
  if (err instanceof PortcullisError) lines.push(...err.problems.map((p) => `  - ${p}`));
  if (debug && err instanceof Error && err.stack) lines.push('', err.stack);
  return `${lines.join('\n')}\n`;
}
