/** The `portcullis` entry point: help, version, and exit code 2 for usage errors. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

const pkg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as {
  version: string;
};

describe('portcullis (entry point)', () => {
  it('--help prints the usage with every command and exits 0', async () => {
    const r = await runCli(['--help'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: portcullis <command>/);
    for (const cmd of ['start', 'token', 'check']) expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
  });

  it.each(['start', 'token', 'check'])('%s --help prints that command’s usage and exits 0', async (cmd) => {
    const r = await runCli([cmd, '--help'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: portcullis ${cmd}`));
    expect(r.stdout).toContain('Examples:');
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it.each([
    [['frobnicate'], /^portcullis: unknown command 'frobnicate'/],
    [['start', '--frobnicate'], /^portcullis: start: unknown option --frobnicate/],
    [['check', 'extra'], /^portcullis: check: unexpected argument 'extra'/],
    [['start', '--port', 'http'], /^portcullis: --port: 'http' is not a port number/],
    [[], /^Usage: portcullis/],
  ])('%j is a usage error: exit 2, message on stderr, nothing on stdout', async (args, message) => {
    const r = await runCli(args, dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('prints a stack trace only with PORTCULLIS_DEBUG=1', async () => {
    const r = await runCli(['check', '--config', 'missing.yaml'], dir, { PORTCULLIS_DEBUG: '1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
