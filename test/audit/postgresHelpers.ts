/**
 * Shared fixtures for the PostgreSQL audit tests: the machine's real server (127.0.0.1:5432,
 * database `test`), a unique table per test file (dropped afterwards), a direct connection to
 * look at what was stored, and a TCP forwarder that a test can cut to play "database down".
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import pg from 'pg';
import type { AuditConfig } from '../../src/config/types.js';
import { auditConfig } from './helpers.js';

/** The test database (trust auth on loopback). */
export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** An audit config writing only to PostgreSQL (`table`), like `auditConfig` otherwise. */
export function postgresAuditConfig(table: string, extra: Partial<AuditConfig> = {}, url = PG_URL): AuditConfig {
  const { sqlite: _sqlite, ...rest } = auditConfig('/nonexistent', extra);
  return { ...rest, postgres: { url, table } };
}

/** A table name no other test file or run uses. */
export function uniqueTable(label: string): string {
  return `t_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** A connection of its own (not the gateway's), to read and tamper with the table. */
export async function adminClient(url = PG_URL): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Drops the tables, if they exist. */
export async function dropTables(...tables: string[]): Promise<void> {
  const client = await adminClient();
  try {
    for (const t of tables) await client.query(`DROP TABLE IF EXISTS ${pg.escapeIdentifier(t)}`);
  } finally {
    await client.end();
  }
}

/** A port on loopback with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A TCP forwarder to PostgreSQL on a loopback port. `cut()` breaks every open connection and
 * refuses new ones (accepted, then reset at once) until `restore()`.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private cutOff = false;
  /** Connections accepted and forwarded. */
  forwarded = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target = { host: '127.0.0.1', port: 5432 }): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => proxy.accept(client, target));
    return proxy;
  }

  /** A URL for the database behind this proxy. */
  url(database = 'test'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.cutOff = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    if (this.cutOff) {
      client.resetAndDestroy();
      return;
    }
    this.forwarded += 1;
    const upstream = connect(target.port, target.host);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  }
}
