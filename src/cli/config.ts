/**
 * Which configuration a command runs on: `--config FILE`, else `PORTCULLIS_CONFIG`, else the
 * embedded demo (examples/demo/portcullis.yaml, state and dev secret under `<cwd>/.portcullis/`).
 * Also applies the `--host`/`--port` flags over `HOST`/`PORT` over the file.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../config/load.js';
import type { LoadOptions } from '../config/load.js';
import type { GatewayConfig } from '../config/types.js';
import { PortcullisError } from '../errors.js';
import { parsePort, usageError } from './args.js';
import type { CliContext } from './context.js';
import { ensureDevSecret } from './devSecret.js';

/**
 * The embedded demo config. The same relative URL resolves from src/cli (tsx) and dist/cli
 * (compiled); the package ships `examples/`.
 */
export const DEMO_CONFIG_FILE = fileURLToPath(new URL('../../examples/demo/portcullis.yaml', import.meta.url));

/** Options every config-reading command shares. */
export interface ConfigFlags {
  config?: string | undefined;
  host?: string | undefined;
  port?: string | undefined;
}

/** A loaded config and where it came from. */
export interface CliConfig {
  readonly config: GatewayConfig;
  /** True for the embedded demo. */
  readonly demo: boolean;
  /** The config file, as the user named it (or the demo file's path). */
  readonly source: string;
  /** Host/port overrides that came from flags or the environment, for hints in the banner. */
  readonly overrides: { readonly host?: string; readonly port?: number };
}

/**
 * Loads the config the command should use. For the demo, creates the dev secret first (the
 * demo config reads it through `secretFile`). Load errors keep their code and problems, with the
 * file named in the message.
 */
export function loadCliConfig(ctx: CliContext, flags: ConfigFlags): CliConfig {
  const host = flags.host ?? nonEmpty(ctx.env.HOST);
  const portText = flags.port ?? nonEmpty(ctx.env.PORT);
  const port = portText === undefined ? undefined : parsePort(portText, flags.port !== undefined ? '--port' : 'PORT');
  if (host !== undefined && host.trim() === '') throw usageError('--host: empty host name');
  const overrides = { ...(host !== undefined && { host }), ...(port !== undefined && { port }) };
  const options: LoadOptions = { env: ctx.env, ...overrides };

  const named = flags.config ?? nonEmpty(ctx.env.PORTCULLIS_CONFIG);
  if (named === undefined) {
    ensureDevSecret(ctx.cwd, (message) => ctx.stderr(`portcullis: warning: ${message}\n`));
    return {
      config: load(DEMO_CONFIG_FILE, { ...options, baseDir: ctx.cwd }),
      demo: true,
      source: DEMO_CONFIG_FILE,
      overrides,
    };
  }
  return { config: load(path.resolve(ctx.cwd, named), options), demo: false, source: named, overrides };
}

function load(file: string, options: LoadOptions): GatewayConfig {
  try {
    return loadConfigFile(file, options);
  } catch (err) {
    throw withSource(err, file);
  }
}

/**
 * Names the config file in a `PortcullisError`'s message (code and problems unchanged), so
 * `portcullis: FILE: 2 tool problem(s)` says which file to fix. Other errors pass through.
 */
export function withSource(err: unknown, file: string): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  if (!(err instanceof PortcullisError) || err.message.includes(file)) return err;
  return new PortcullisError(err.code, `${file}: ${err.message}`, err.problems, { cause: err });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
