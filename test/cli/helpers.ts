/**
 * Runs the real `portcullis` CLI as a child process (`node --import tsx src/cli/main.ts`) in a
 * temporary working directory, so the demo's `.portcullis/` state lands there.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts');
// `--import tsx` resolves from the child's cwd (a temp dir), so pass tsx's loader by URL.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const NODE_ARGS = ['--import', TSX, MAIN];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without anything that would change which config or port the CLI uses. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['PORT', 'HOST', 'PORTCULLIS_CONFIG', 'PORTCULLIS_DEBUG']) delete env[key];
  return { ...env, ...extra };
}

/** Runs `portcullis ...args` to completion. */
export function runCli(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...NODE_ARGS, ...args],
      { cwd, env: cleanEnv(env), timeout: 15_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Starts `portcullis ...args` in the background (for `start`). */
export function spawnCli(args: readonly string[], cwd: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [...NODE_ARGS, ...args], {
    cwd,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A fresh temporary working directory and its cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-cli-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
