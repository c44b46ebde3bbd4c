/* global AbortSignal, clearTimeout, fetch, process, setTimeout */
// Child processes of the bench: every server runs in its own process on loopback. Tracks them
// all so that exit, SIGINT and SIGTERM kill every one, and explains a server that fails to start.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

const children = new Set();
let hooked = false;

function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of children) c.proc.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping ${children.size} server(s)\n`);
      process.exit(130);
    });
  }
}

/** A port the OS says is free right now on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `node ...args` and waits until `readyUrl` answers any HTTP status (or `readyStatus`).
 * Rejects with the child's last output if it exits or is not ready within `timeoutMs`.
 */
export async function startServer(name, args, { readyUrl, readyStatus, timeoutMs = 20_000, cwd, nodeFlags = [] }) {
  hookExit();
  const proc = spawn(process.execPath, [...nodeFlags, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = { name, proc, tail: '', exited: null };
  const keep = (buf) => {
    child.tail = (child.tail + buf.toString()).slice(-4000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  proc.on('exit', (code, signal) => {
    child.exited = { code, signal };
    children.delete(child);
  });
  children.add(child);

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exited) throw startError(child, `exited (code ${child.exited.code}, signal ${child.exited.signal})`);
    if (Date.now() > deadline) {
      await stopServer(child);
      throw startError(child, `not ready after ${timeoutMs} ms at ${readyUrl}`);
    }
    try {
      const res = await fetch(readyUrl, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (readyStatus === undefined || res.status === readyStatus) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startError(child, why) {
  const out = child.tail.trim() ? `\n--- its last output ---\n${child.tail.trim()}\n---` : ' (no output)';
  return new Error(`server '${child.name}' failed to start: ${why}${out}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopServer(child, graceMs = 3000) {
  if (child.exited) return;
  const gone = new Promise((r) => child.proc.once('exit', r));
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

export async function stopAll() {
  await Promise.all([...children].map((c) => stopServer(c)));
}

/** CPU time (user + system, ms) a child has used so far, from /proc (Linux); null elsewhere. */
export async function cpuMs(child) {
  try {
    const { readFile } = await import('node:fs/promises');
    const stat = (await readFile(`/proc/${child.proc.pid}/stat`, 'utf8')).split(') ')[1].split(' ');
    return ((Number(stat[11]) + Number(stat[12])) * 1000) / 100;
  } catch {
    return null;
  }
}
