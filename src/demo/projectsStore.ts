/**
 * Storage of the demo Projects API (demo/projectsApi.ts): one `projects` table in the demo
 * database file, reached through its own connection, as a separate service of the same SaaS would.
 * Every query takes the tenant as a parameter; statements are prepared once, never built from input.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';

export type ProjectStatus = 'active' | 'archived';

export interface Project {
  id: string;
  name: string;
  description: string;
  status: ProjectStatus;
  createdBy: string;
  createdAt: string;
  archivedAt: string | null;
}

export interface ProjectsStore {
  list(q: { tenantId: string; status?: ProjectStatus; limit: number }): Project[];
  get(tenantId: string, id: string): Project | undefined;
  create(p: { tenantId: string; name: string; description: string; createdBy: string }): Project;
  /** Archives a project; `undefined` if the tenant has no such project. Idempotent. */
  archive(tenantId: string, id: string): Project | undefined;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS projects (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '', status TEXT NOT NULL CHECK (status IN ('active','archived')),
  created_by TEXT NOT NULL, created_at TEXT NOT NULL, archived_at TEXT);
CREATE INDEX IF NOT EXISTS projects_by_tenant ON projects (tenant_id, created_at);
`;

// [id, tenant, name, description, createdBy, createdAt]
const SEED = [
  ['prj_apollo', 'acme', 'Apollo', 'Customer portal rewrite', 'carol', '2025-01-10T09:00:00.000Z'],
  ['prj_hermes', 'acme', 'Hermes', 'Outbound email service', 'alice', '2025-02-14T09:00:00.000Z'],
  ['prj_atlas', 'globex', 'Atlas', 'Data warehouse migration', 'dave', '2025-01-20T09:00:00.000Z'],
] as const;

const COLS = `id, name, description, status, created_by AS createdBy, created_at AS createdAt, archived_at AS archivedAt`;

export function openProjectsStore(file: string, clock: () => Date = () => new Date()): ProjectsStore {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  db.transaction(() => {
    const n = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM projects').get()?.n ?? 0;
    if (n > 0) return;
    const insert = db.prepare(`INSERT INTO projects VALUES (?, ?, ?, ?, 'active', ?, ?, NULL)`);
    for (const row of SEED) insert.run(...row);
  })();

  const list = db.prepare<[Record<string, string | number | null>], Project>(
    `SELECT ${COLS} FROM projects WHERE tenant_id = @tenantId AND (@status IS NULL OR status = @status)
     ORDER BY created_at DESC, id LIMIT @limit`,
  );
  const byId = db.prepare<[string, string], Project>(`SELECT ${COLS} FROM projects WHERE tenant_id = ? AND id = ?`);
  const insert = db.prepare(
    `INSERT INTO projects (id, tenant_id, name, description, status, created_by, created_at)
     VALUES (@id, @tenantId, @name, @description, 'active', @createdBy, @createdAt)`,
  );
  const archive = db.prepare<[string, string, string]>(
    `UPDATE projects SET status = 'archived', archived_at = ? WHERE tenant_id = ? AND id = ? AND status = 'active'`,
  );

  return {
    list: (q) => list.all({ tenantId: q.tenantId, status: q.status ?? null, limit: q.limit }),
    get: (tenantId, id) => byId.get(tenantId, id),
    create(p) {
      const id = `prj_${randomBytes(6).toString('hex')}`;
      insert.run({ ...p, id, createdAt: clock().toISOString() });
      const created = byId.get(p.tenantId, id);
      if (!created) throw new Error('project insert did not persist');
      return created;
    },
    archive(tenantId, id) {
      archive.run(clock().toISOString(), tenantId, id);
      return byId.get(tenantId, id);
    },
    close: () => db.close(),
  };
}
