/**
 * The schema, as every migration in src/migrations/ leaves it, against the rules Citus documents
 * for distributing a multi-tenant database by its tenant column (docs/scale-out.md, "Tenants on
 * Citus"). Citus cannot run here, so the rules are checked on the real catalogs of a real Postgres
 * after the real migrations, each rule beside the Citus source or page that states it. Then the
 * SQL the exporter runs is scanned for a tenant filter, with the deliberate exceptions named.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type pg from 'pg';
import { listMigrations } from '../src/db/migrate.js';
import { EventStore } from '../src/ingest/store.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';

const DIST = 'tenant';
const srcDir = fileURLToPath(new URL('../src/', import.meta.url));
const docPath = fileURLToPath(new URL('../../docs/scale-out.md', import.meta.url));

/**
 * Tables without the tenant column, each with where it lives on Citus and why. Categories from
 * citusdata/citus_docs develop/migration_mt_schema.rst ("Identify types of tables": distributed,
 * reference = small, tenant-less, joined by distributed tables; local = utility tables kept on the
 * coordinator only). A new tenant-less table fails the test until it is placed here.
 */
const LOCAL_TABLES: Record<string, string> = {
  schema_migrations: 'migrate() reads and writes it under an advisory lock, never joined with tenant data: coordinator-local',
};
// None: master data (master_agents, master_groups) belongs to a tenant and is keyed by it, so it
// is co-located with the events rather than copied to every node.
const REFERENCE_TABLES: Record<string, string> = {};

interface Column {
  type: string;
  notNull: boolean;
  identity: string;
  generated: string;
  default: string | null;
}
interface Table {
  name: string;
  kind: 'r' | 'p';
  parent: string | null;
  columns: Map<string, Column>;
}
interface Index {
  table: string;
  name: string;
  unique: boolean;
  primary: boolean;
  /** Key columns; null for an expression. */
  keys: (string | null)[];
}
interface Exclusion {
  table: string;
  name: string;
  /** [column, operator] pairs; column null for an expression. */
  elements: [string | null, string][];
}
interface ForeignKey {
  table: string;
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: string;
  onUpdate: string;
}
interface Schema {
  tables: Map<string, Table>;
  indexes: Index[];
  exclusions: Exclusion[];
  foreignKeys: ForeignKey[];
  triggers: string[];
  rules: string[];
}

async function readSchema(pool: pg.Pool, schema: string): Promise<Schema> {
  const q = async <T extends pg.QueryResultRow>(sql: string) => (await pool.query<T>(sql, [schema])).rows;
  const tables = new Map<string, Table>();
  for (const r of await q<{ name: string; kind: 'r' | 'p'; parent: string | null }>(
    `SELECT c.relname AS name, c.relkind AS kind,
            (SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid) AS parent
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
  ))
    tables.set(r.name, { ...r, columns: new Map() });
  for (const r of await q<{ tbl: string; col: string } & Column>(
    `SELECT c.relname AS tbl, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
            a.attidentity AS identity, a.attgenerated AS generated, pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
  ))
    tables.get(r.tbl)?.columns.set(r.col, r);
  const indexes = await q<Index>(
    `SELECT c.relname AS table, i.relname AS name, x.indisunique AS unique, x.indisprimary AS primary,
            array(SELECT a.attname::text FROM unnest(x.indkey[0:x.indnkeyatts - 1]) WITH ORDINALITY AS u(k, o)
                  LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.k ORDER BY u.o) AS keys
       FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1`,
  );
  const exclusions = await q<Exclusion>(
    `SELECT c.relname AS table, k.conname AS name,
            array(SELECT json_build_array(a.attname::text, u.op::regoper::text)
                    FROM unnest(k.conkey, k.conexclop) WITH ORDINALITY AS u(att, op, o)
                    LEFT JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.att ORDER BY u.o) AS elements
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND k.contype = 'x'`,
  );
  const foreignKeys = await q<ForeignKey>(
    `SELECT c.relname AS table, k.conname AS name, r.relname AS "refTable",
            array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o) AS columns,
            array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o) AS "refColumns",
            k.confdeltype AS "onDelete", k.confupdtype AS "onUpdate"
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND k.contype = 'f' AND k.conparentid = 0`,
  );
  const triggers = (
    await q<{ t: string }>(
      `SELECT c.relname || '.' || g.tgname AS t FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT g.tgisinternal`,
    )
  ).map((r) => r.t);
  const rules = (await q<{ t: string }>(`SELECT tablename || '.' || rulename AS t FROM pg_rules WHERE schemaname = $1`)).map((r) => r.t);
  return { tables, indexes, exclusions, foreignKeys, triggers, rules };
}

type Placement = 'distributed' | 'reference' | 'local';

/** Where each table goes: partitions follow their parent (Citus distributes them with it). */
function placements(s: Schema, local: Record<string, string>, reference: Record<string, string>): Map<string, Placement> {
  const out = new Map<string, Placement>();
  const root = (t: Table): Table => (t.parent ? root(s.tables.get(t.parent)!) : t);
  for (const t of s.tables.values()) {
    const r = root(t);
    out.set(t.name, r.name in local ? 'local' : r.name in reference ? 'reference' : 'distributed');
  }
  return out;
}

/** Every way the schema breaks a documented Citus rule for distribution by `tenant`, as readable lines. */
function citusProblems(s: Schema, local: Record<string, string> = LOCAL_TABLES, reference: Record<string, string> = REFERENCE_TABLES): string[] {
  const problems: string[] = [];
  const place = placements(s, local, reference);
  const distributed = [...s.tables.values()].filter((t) => place.get(t.name) === 'distributed');

  for (const name of [...Object.keys(local), ...Object.keys(reference)])
    if (s.tables.get(name)?.columns.has(DIST)) problems.push(`${name}: has a ${DIST} column but is listed as local/reference: distribute it`);

  // The distribution column on every distributed table, of one type, never null. Co-location
  // needs the same column type: citus_docs develop/reference_ddl.rst "Co-Locating Tables" (same
  // distribution column type, shard count and replication factor) and migration_mt_schema.rst
  // ("don't mix int and bigint"); NULL has no shard: Citus answers "ERROR: cannot perform an
  // INSERT with NULL in the partition column" (Microsoft Learn, Azure Cosmos DB for PostgreSQL,
  // i.e. Citus, "Load individual rows using the INSERT command").
  const types = new Set<string>();
  for (const t of distributed) {
    const c = t.columns.get(DIST);
    if (!c) {
      problems.push(`${t.name}: no ${DIST} column: add it (and backfill it), or list the table as reference or local with why`);
      continue;
    }
    types.add(c.type);
    if (!c.notNull) problems.push(`${t.name}.${DIST}: nullable; a distribution column cannot be NULL`);
    // citus src/backend/distributed/commands/create_distributed_table.c, EnsureRelationCanBeDistributed:
    // "Distribution column must not use GENERATED ALWAYS AS (...) STORED."
    if (c.generated) problems.push(`${t.name}.${DIST}: a generated column cannot be the distribution column`);
  }
  if (types.size > 1) problems.push(`${DIST} has several types (${[...types].join(', ')}): tables would not be co-located`);

  // Every PRIMARY KEY, UNIQUE constraint and unique index of a distributed table includes the
  // distribution column, as a column: citus src/backend/distributed/commands/table.c,
  // ErrorIfUnsupportedConstraint ("Distributed relations cannot have UNIQUE, EXCLUDE, or PRIMARY KEY
  // constraints that do not include the partition column"); citus_docs develop/reference_ddl.rst
  // ("Primary keys and uniqueness constraints must include the distribution column") and
  // develop/reference_workarounds.rst / FAQ ("creating unique indexes on non-partition columns is
  // currently unsupported"). Reference tables may hold any (ErrorIfUnsupportedConstraint returns
  // early for DISTRIBUTE_BY_NONE).
  for (const i of s.indexes)
    if (i.unique && place.get(i.table) === 'distributed' && !i.keys.includes(DIST))
      problems.push(`${i.table}: ${i.primary ? 'primary key' : 'unique index'} ${i.name} (${i.keys.map((k) => k ?? '<expression>').join(', ')}) lacks ${DIST}`);
  // EXCLUDE constraints: the distribution column with the equality operator (same function).
  for (const x of s.exclusions)
    if (place.get(x.table) === 'distributed' && !x.elements.some(([c, op]) => c === DIST && op === '='))
      problems.push(`${x.table}: exclusion constraint ${x.name} lacks "${DIST} WITH ="`);

  // Foreign keys: between co-located distributed tables with the distribution column at the same
  // position on both sides, or from a distributed table to a reference table; never from a
  // reference table to a distributed one. citus src/backend/distributed/commands/foreign_constraint.c,
  // ErrorIfUnsupportedForeignConstraint ("Foreign keys are supported in two cases, either in between
  // two colocated tables including partition column in the same ordinal in the both tables or from
  // distributed to reference tables"), and there "SET NULL or SET DEFAULT is not supported in ON
  // DELETE operation when distribution key is included in the foreign key constraint" / "SET NULL,
  // SET DEFAULT or CASCADE is not supported in ON UPDATE operation"; citus_docs reference_ddl.rst
  // "Adding/Removing Constraints".
  for (const f of s.foreignKeys) {
    const from = place.get(f.table);
    const to = place.get(f.refTable);
    const label = `${f.table}: foreign key ${f.name} -> ${f.refTable}`;
    if (from === 'distributed' && to === 'distributed') {
      const at = f.columns.indexOf(DIST);
      if (at < 0 || f.refColumns[at] !== DIST) problems.push(`${label}: ${DIST} is not at the same position on both sides`);
      else {
        if (f.onDelete === 'n' || f.onDelete === 'd') problems.push(`${label}: ON DELETE SET NULL/DEFAULT with the distribution column`);
        if (['n', 'd', 'c'].includes(f.onUpdate)) problems.push(`${label}: ON UPDATE SET NULL/DEFAULT/CASCADE with the distribution column`);
      }
    } else if (from === 'reference' && to === 'distributed') problems.push(`${label}: a reference table cannot reference a distributed one`);
    else if (from !== to && (from === 'local' || to === 'local')) problems.push(`${label}: a local table and a Citus table cannot be joined by a foreign key`);
  }

  for (const t of s.tables.values()) {
    if (place.get(t.name) === 'local') continue;
    for (const [col, c] of t.columns) {
      // citus create_distributed_table.c, EnsureRelationCanBeDistributed: "Distributed relations
      // must not use GENERATED ... AS IDENTITY" (later releases accept bigint identities only).
      if (c.identity) problems.push(`${t.name}.${col}: an identity column; use bigserial`);
      // Sequences hand out unique values on every node by the node's group id in the top 16 bits,
      // which needs a bigint: citus src/backend/distributed/worker/worker_data_fetch_protocol.c,
      // AlterSequenceMinMax and worker_nextval ("nextval(sequence) calls in worker nodes are not
      // supported for column defaults of type int or smallint").
      if (c.default && /\bnextval\(/.test(c.default) && c.type !== 'bigint')
        problems.push(`${t.name}.${col}: a sequence default on ${c.type}; Citus needs bigint (bigserial)`);
    }
    // Partitioned tables can be distributed (citus_docs sharding/timeseries.rst: distribute the
    // parent, partitions created later are distributed with it), but only one level deep:
    // docs.citusdata.com develop/reference_workarounds.html, "Distributing multi-level partitioned
    // tables is not supported".
    if (t.kind === 'p' && t.parent) problems.push(`${t.name}: a partitioned partition (multi-level partitioning)`);
  }

  // Triggers are refused on distributed tables unless citus.enable_unsafe_triggers: citus
  // create_distributed_table.c (EnsureRelationHasNoTriggers) and commands/trigger.c; the rule
  // system is not supported at all (docs.citusdata.com develop/reference_workarounds.html, "General").
  for (const t of s.triggers) if (place.get(t.split('.')[0]) !== 'local') problems.push(`${t}: a trigger on a Citus table`);
  for (const r of s.rules) if (place.get(r.split('.')[0]) !== 'local') problems.push(`${r}: a rule on a Citus table`);
  return problems;
}

/** The create_distributed_table / create_reference_table calls the schema needs, as docs/scale-out.md writes them. */
function distributionPlan(s: Schema): string[] {
  const place = placements(s, LOCAL_TABLES, REFERENCE_TABLES);
  const top = [...s.tables.values()].filter((t) => !t.parent);
  const dist = top.filter((t) => place.get(t.name) === 'distributed').map((t) => t.name);
  // events first: the biggest table anchors the co-location group the others join.
  dist.sort((a, b) => (a === 'events' ? -1 : b === 'events' ? 1 : a.localeCompare(b)));
  const [anchor, ...rest] = dist;
  return [
    ...top.filter((t) => place.get(t.name) === 'reference').map((t) => `SELECT create_reference_table('${t.name}');`),
    `SELECT create_distributed_table('${anchor}', '${DIST}');`,
    ...rest.map((n) => `SELECT create_distributed_table('${n}', '${DIST}', colocate_with => '${anchor}');`),
  ];
}

// ---------------------------------------------------------------------------------------------
// The SQL the exporter runs: every statement on a distributed table filters by one tenant (a
// router query, answered by one shard: citus_docs develop/reference_workarounds.rst, "100% SQL
// coverage for any queries it is able to execute on a single worker node"), or inserts rows that
// each carry their tenant. Multi-shard statements work on Citus too, fanned out to every shard:
// the ones below are deliberate, and off the per-request paths.

interface Statement {
  file: string;
  line: number;
  text: string;
}

/** Every string and template literal of src/ (not nested ones twice), by the TypeScript parser. */
function sqlLiterals(): Statement[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = path.join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.ts')) files.push(p);
    }
  };
  walk(srcDir);
  const out: Statement[] = [];
  for (const file of files) {
    const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node) => {
      if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateExpression(n)) {
        out.push({ file: path.relative(srcDir, file), line: src.getLineAndCharacterOfPosition(n.getStart()).line + 1, text: n.getText() });
        return;
      }
      ts.forEachChild(n, visit);
    };
    visit(src);
  }
  return out;
}

/** Statements on a distributed table that do not filter by one tenant, and are not listed as exceptions. */
// `tenant = ${tenant}`: COPY takes no parameters, so the rollup inlines the tenant quoted by pg's escapeLiteral.
const TENANT_FILTER = /\b(?:\w+\.)?tenant\s*=\s*(?:\$\d+|ANY\s*\(\s*\$\d+|\$\{tenant\})/i;
// `($1::text IS NULL OR tenant = $1)`: one tenant, or every tenant.
const OPTIONAL_TENANT = /\$\d+(?:::text)?\s+IS\s+NULL\s+OR\s+(?:\w+\.)?tenant\s*=/i;
// Rows inserted with their own tenant go to their tenant's shard.
const INSERT_WITH_TENANT = /INSERT\s+INTO\s+\w+(?:\s+AS\s+\w+)?\s*\([^)]*\btenant\b/i;

/**
 * The deliberate exceptions: statements over every tenant (or over keys of several), each off the
 * per-request paths; keyed by file and a piece of the statement. On Citus each is a multi-shard
 * query run in parallel on the workers.
 */
const CROSS_TENANT: { file: string; has: string; why: string }[] = [
  { file: 'live/load.ts', has: "WHERE type = 'group.upsert'", why: 'start-up rebuild of the live state: every tenant, once per process start' },
  { file: 'live/load.ts', has: "WHERE type = 'agent.upsert'", why: 'start-up rebuild: every agent of every tenant, once per start' },
  { file: 'live/load.ts', has: "type = 'agent.status' AND time < $1", why: "start-up rebuild: each agent's status at midnight" },
  { file: 'live/load.ts', has: "type = 'agent.status' AND day >= $2", why: "start-up rebuild: today's status changes" },
  { file: 'live/load.ts', has: 'WITH touched AS', why: 'start-up rebuild: the sessions touched in the last 24 h (joins on tenant: co-located)' },
  { file: 'reports/service.ts', has: 'max(last_received_at) AS last_received_at FROM event_days', why: "the rollup scheduler's scan of every tenant with events (a small table; every 300 s)" },
  { file: 'cli.ts', has: 'FROM event_days WHERE day BETWEEN', why: '`cs-exporter rollup` by hand: every tenant unless --tenant' },
  { file: 'self-metrics.ts', has: 'FROM report_rollups', why: "start-up: where each tenant's reports are final" },
  {
    file: 'ingest/store.ts',
    has: 'FROM event_ids e JOIN unnest',
    why: 'resolving a batch whose commit answer was lost: keys of several tenants, after a database failure only',
  },
  {
    file: 'live/follow.ts',
    has: 'LEFT JOIN events e ON (e.xid',
    why: "the replicas' log follower: every replica's live state holds every tenant, so it reads every tenant's newly committed events (docs/scale-out-replicas.md)",
  },
  {
    file: 'adapters/amazon-connect/component.ts',
    has: 'SELECT DISTINCT tenant, session_id FROM connect_contacts',
    why: "the Connect adapter's sweep of contacts past their end grace, every tenant at once: a timer, not a request (a partial index keeps it small)",
  },
  {
    file: 'adapters/amazon-connect/component.ts',
    has: 'DELETE FROM connect_contacts WHERE finals_done',
    why: "the same sweep forgetting contacts settled over 8 days ago: a timer's clean-up",
  },
];

function unscopedStatements(distributed: string[]): { unscoped: Statement[]; exceptionsUsed: Set<number> } {
  const tableRef = new RegExp(`\\b(?:FROM|JOIN|INTO|UPDATE|COPY)\\s+(?:ONLY\\s+)?(${distributed.join('|')})\\b`, 'i');
  const unscoped: Statement[] = [];
  const exceptionsUsed = new Set<number>();
  for (const s of sqlLiterals()) {
    if (!/\b(SELECT|INSERT|DELETE|UPDATE|COPY)\b/.test(s.text) || !tableRef.test(s.text)) continue;
    const scoped = (TENANT_FILTER.test(s.text) && !OPTIONAL_TENANT.test(s.text)) || INSERT_WITH_TENANT.test(s.text);
    if (scoped) continue;
    const x = CROSS_TENANT.findIndex((e) => s.file === e.file && s.text.includes(e.has));
    if (x >= 0) exceptionsUsed.add(x);
    else unscoped.push(s);
  }
  return { unscoped, exceptionsUsed };
}

describe('Tenants on Citus: the schema after every migration', () => {
  let db: TestDatabase;
  let schema: Schema;

  before(async () => {
    db = await freshDatabase();
    // A day partition as ingest makes it on a new day, so the partitions are checked too.
    await new EventStore(db.pool).ensurePartitions(['2026-12-01']);
    schema = await readSchema(db.pool, 'public');
  });
  after(async () => {
    await db?.drop();
  });

  it('When every migration of src/migrations/ is applied, then the schema meets each rule Citus documents for distributing by tenant', async () => {
    // All of them, whoever wrote them: the list is read from the directory, as migrate() reads it.
    const files = readdirSync(path.join(srcDir, 'migrations')).filter((f) => f.endsWith('.sql'));
    const { rows } = await db.pool.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      rows.map((r) => r.name),
      listMigrations().map((m) => m.name),
    );
    assert.equal(rows.length, files.length, 'every .sql file in src/migrations/ is a migration that was applied');
    assert.ok(schema.tables.has('events') && schema.tables.get('events')!.kind === 'p', 'events is partitioned');
    assert.deepEqual(citusProblems(schema), []);
  });

  it('When the tables are placed, then all but the listed local ones are distributed by tenant and co-located with events', () => {
    const place = placements(schema, LOCAL_TABLES, REFERENCE_TABLES);
    for (const name of Object.keys(LOCAL_TABLES)) assert.equal(place.get(name), 'local', `${name} exists and is local`);
    const distributed = [...place].filter(([, p]) => p === 'distributed').map(([n]) => n);
    // The tables the reports and the live state read are there (not only whatever exists).
    for (const t of ['events', 'event_ids', 'event_days', 'master_agents', 'master_groups', 'report_sessions', 'report_agent_daily'])
      assert.ok(distributed.includes(t), `${t} is distributed`);
    // The day partition made by ingest goes with its parent, keeps its parent's (tenant-less,
    // non-unique) indexes, and is not a table of its own in the plan.
    const day = schema.tables.get('events_p20261201');
    assert.equal(day?.parent, 'events');
    assert.equal(place.get('events_p20261201'), 'distributed');
    assert.ok(schema.indexes.some((i) => i.table === 'events_p20261201' && !i.unique));
    assert.ok(!distributionPlan(schema).some((l) => l.includes('events_p2026')));
  });

  it('When docs/scale-out.md gives the distribution plan, then it has one call per table of the schema, no more', () => {
    const doc = readFileSync(docPath, 'utf8');
    const plan = distributionPlan(schema);
    for (const line of plan) assert.ok(doc.includes(line), `docs/scale-out.md lacks: ${line}`);
    const documented = [...doc.matchAll(/create_(?:distributed|reference)_table\('(\w+)'/g)].map((m) => m[1]);
    const planned = new Set(plan.map((l) => /\('(\w+)'/.exec(l)![1]));
    for (const t of documented) assert.ok(planned.has(t), `docs/scale-out.md distributes ${t}, which the schema does not have (or keeps local)`);
  });

  it('When the exporter\'s SQL is scanned, then every statement on a distributed table filters by one tenant, but the listed exceptions', () => {
    const place = placements(schema, LOCAL_TABLES, REFERENCE_TABLES);
    const distributed = [...place].filter(([n, p]) => p === 'distributed' && !schema.tables.get(n)!.parent).map(([n]) => n);
    const { unscoped, exceptionsUsed } = unscopedStatements(distributed);
    assert.deepEqual(
      unscoped.map((s) => `${s.file}:${s.line}: ${s.text.slice(0, 160).replace(/\s+/g, ' ')}`),
      [],
      'statements without a tenant filter: add one, or list them in CROSS_TENANT with why',
    );
    // An exception that no longer matches anything is stale: it would hide the next statement.
    const stale = CROSS_TENANT.filter((_, i) => !exceptionsUsed.has(i)).map((e) => `${e.file}: ${e.has}`);
    assert.deepEqual(stale, []);
    // The scan does see the hot paths: ingest's statement and the reports' queries are among the scoped ones.
    const all = sqlLiterals();
    assert.ok(all.some((s) => s.file === 'ingest/store.ts' && INSERT_WITH_TENANT.test(s.text)));
    assert.ok(all.filter((s) => s.file === 'reports/queries.ts' && TENANT_FILTER.test(s.text)).length >= 5);
  });
});

describe('Tenants on Citus: the checks catch what Citus refuses', () => {
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase({ migrate: false });
  });
  after(async () => {
    await db?.drop();
  });

  it('When a schema breaks each rule once, then each break is reported, by table and rule', async () => {
    await db.pool.query(`
      CREATE SCHEMA bad;
      CREATE TABLE bad.accounts (tenant text NOT NULL, id text NOT NULL, email text, PRIMARY KEY (tenant, id), UNIQUE (email));
      CREATE TABLE bad.orders (tenant text, id serial, account text, PRIMARY KEY (tenant, id),
        FOREIGN KEY (account, tenant) REFERENCES bad.accounts (tenant, id));
      CREATE TABLE bad.notes (tenant text, id bigint GENERATED ALWAYS AS IDENTITY, body text);
      CREATE UNIQUE INDEX notes_body ON bad.notes (lower(body));
      CREATE TABLE bad.countries (code text PRIMARY KEY);
      CREATE TABLE bad.log (tenant text NOT NULL, day date NOT NULL) PARTITION BY RANGE (day);
      CREATE TABLE bad.log_2026 PARTITION OF bad.log FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') PARTITION BY LIST (tenant);
      CREATE FUNCTION bad.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
      CREATE TRIGGER touch BEFORE INSERT ON bad.accounts FOR EACH ROW EXECUTE FUNCTION bad.touch();
    `);
    const s = await readSchema(db.pool, 'bad');
    assert.deepEqual(citusProblems(s, {}, {}).sort(), [
      'accounts.touch: a trigger on a Citus table',
      'accounts: unique index accounts_email_key (email) lacks tenant',
      'countries: no tenant column: add it (and backfill it), or list the table as reference or local with why',
      'countries: primary key countries_pkey (code) lacks tenant',
      'log_2026: a partitioned partition (multi-level partitioning)',
      'notes.id: an identity column; use bigserial',
      'notes.tenant: nullable; a distribution column cannot be NULL',
      'notes: unique index notes_body (<expression>) lacks tenant',
      'orders.id: a sequence default on integer; Citus needs bigint (bigserial)',
      'orders: foreign key orders_account_tenant_fkey -> accounts: tenant is not at the same position on both sides',
    ]);
    // As a reference table, countries may keep its key without a tenant.
    assert.ok(!citusProblems(s, {}, { countries: 'lookup' }).some((p) => p.startsWith('countries')));
  });

  it('When a statement reads a distributed table without a tenant filter, then the scan reports it', () => {
    const fake: Statement = { file: 'x.ts', line: 1, text: '`SELECT count(*) FROM report_sessions WHERE day = $1`' };
    const scoped = (t: string) => (TENANT_FILTER.test(t) && !OPTIONAL_TENANT.test(t)) || INSERT_WITH_TENANT.test(t);
    assert.equal(scoped(fake.text), false);
    assert.equal(scoped('SELECT 1 FROM report_sessions WHERE s.tenant = $1 AND day = $2'), true);
    assert.equal(scoped('SELECT 1 FROM event_days WHERE ($1::text IS NULL OR tenant = $1)'), false);
    assert.equal(scoped('INSERT INTO report_rollups (tenant, day) VALUES ($1, $2)'), true);
    assert.equal(scoped('INSERT INTO adapter_checkpoints (adapter, tenant, source) VALUES ($1, $2, $3)'), true);
    assert.equal(scoped('INSERT INTO adapter_checkpoints (adapter, source) SELECT adapter, source FROM x'), false);
    assert.equal(scoped('SELECT DISTINCT ON (tenant, id) * FROM events'), false);
  });
});
