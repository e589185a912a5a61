/**
 * Back-pressure: while ingest is at its in-flight budget (429 to everyone), the follower stores
 * nothing, counts nothing and does not move its checkpoint; once room is made it sends the same
 * events again, in batches that fit the budget, and every line is stored once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import type { Exporter } from '../src/exporter.js';
import { QueueLogMapper } from '../src/adapters/asterisk/mapper.js';
import { mapLine, splitLines } from '../src/adapters/asterisk/lines.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { sleep, waitFor } from './helpers/faults.js';
import { scrape, series } from './helpers/live.js';

describe('Asterisk queue_log follow mode under back-pressure', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  let dir: string;
  before(async () => {
    db = await freshDatabase();
    dir = mkdtempSync(join(tmpdir(), 'ast-bp-'));
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('When ingest answers 429, then the follower waits and later stores every line once, in batches within the budget', async () => {
    const file = join(dir, 'queue_log');
    const t = Math.floor(Date.now() / 1000) - 60;
    const lines: string[] = [];
    // 40 calls of 3 lines: start+queue, answer (+ the agent's upsert once), end = 4 events a call, 161 in all.
    for (let i = 0; i < 40; i++)
      lines.push(
        `${t}|bp${i}|q|NONE|ENTERQUEUE||+86139${i}|1`,
        `${t + 1}|bp${i}|q|PJSIP/3001|CONNECT|1|x${i}|1`,
        `${t + 9}|bp${i}|q|PJSIP/3001|COMPLETEAGENT|1|8|1`,
      );
    writeFileSync(file, lines.join('\n') + '\n');
    const base = loadConfig({});
    exporter = await startTestExporter(db.url, { ingestMaxEvents: 40, asterisk: { ...base.asterisk, queueLog: file, tenant: 'bp' } });
    // Someone else holds the whole budget: every submission is refused (OverloadedError, 429).
    const hog = exporter.ctx.writer.ticket();
    assert.ok(hog.take('events', 40));
    // The follower may have got a batch in before the hog; from now on nothing moves.
    await sleep(300);
    const stuck = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE tenant = 'bp'");
    await sleep(1_500);
    const still = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE tenant = 'bp'");
    assert.equal(still.rows[0].n, stuck.rows[0].n);
    assert.ok(still.rows[0].n < 161, `${still.rows[0].n} stored while refused`);
    hog.release();
    const mapper = new QueueLogMapper();
    const want = new Set(splitLines(readFileSync(file), 0).lines.flatMap((l) => mapLine(mapper, l).events.map((e) => e.id)));
    assert.equal(want.size, 161);
    const got = await waitFor('every line stored', async () => {
      const r = await db.pool.query<{ id: string }>("SELECT id FROM events WHERE tenant = 'bp'");
      return r.rows.length >= want.size ? new Set(r.rows.map((x) => x.id)) : undefined;
    });
    assert.deepEqual(
      [...want].filter((id) => !got.has(id)),
      [],
    );
    assert.equal(got.size, want.size);
    const m = await waitFor('the 120 lines counted', async () => {
      const s = await scrape(exporter.url);
      return s.get(series('cs_exporter_adapter_items_total', { adapter: 'asterisk', outcome: 'mapped' })) === 120 ? s : undefined;
    });
    // 监控: today's 40 calls entered and answered once each.
    assert.equal(m.get(series('cs_sessions_inflow_total', { tenant: 'bp', group: 'q', via: 'direct' })), 40);
    assert.equal(m.get(series('cs_sessions_answered_total', { tenant: 'bp', group: 'q' })), 40);
  });
});
