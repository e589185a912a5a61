import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { parseExposition, post, startLiveExporter, type Clock } from './helpers/live.js';
import { missing } from './helpers/prometheus.js';
import type { Exporter } from '../src/exporter.js';

const skip = missing('promtool');
if (skip) console.log(`# skipping the promtool exposition check: ${skip}`);

const S = 1000;
// A group id with every character the text format escapes: a"b\c, a newline, d.
const G = 'a"b\\c\nd';
const GL = 'a\\"b\\\\c\\nd';

describe('/metrics exposition text', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  const NOW = Date.now();
  const clock: Clock = { ms: NOW };
  let text = '';
  let contentType = '';

  before(async () => {
    db = await freshDatabase();
    exporter = await startLiveExporter(db.url, clock);
    await post(exporter.url, [
      [NOW - 600 * S, { type: 'agent.upsert', agentId: 'x"1', name: '张三', groups: [G] }],
      [NOW - 600 * S, { type: 'agent.status', agentId: 'x"1', status: 'online' }],
      // s1 waits 25 s and is answered; s2 still waits (40 s at NOW).
      [NOW - 300 * S, { type: 'session.queue', sessionId: 's1', groupId: G, via: 'direct' }],
      [NOW - 275 * S, { type: 'session.answer', sessionId: 's1', groupId: G, agentId: 'x"1' }],
      [NOW - 40 * S, { type: 'session.queue', sessionId: 's2', groupId: G, via: 'direct' }],
    ]);
    const r = await fetch(`${exporter.url}/metrics`);
    contentType = r.headers.get('content-type') ?? '';
    text = await r.text();
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
  });

  it('When /metrics is read, then it is the Prometheus text format with escaped label values', () => {
    assert.equal(contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const lines = text.split('\n');
    for (const l of [
      '# TYPE cs_queue_wait_seconds histogram',
      `cs_queue_length{tenant="default",group="${GL}"} 1`,
      `cs_queue_longest_wait_seconds{tenant="default",group="${GL}"} 40`,
      `cs_agents{tenant="default",group="${GL}",status="online"} 1`,
      `cs_agent_status{tenant="default",agent="x\\"1",status="online"} 1`,
      `cs_agent_active_sessions{tenant="default",agent="x\\"1"} 1`,
      // One wait of 25 s: 0 up to le="20", 1 from le="30" on.
      `cs_queue_wait_seconds_bucket{tenant="default",group="${GL}",le="20"} 0`,
      `cs_queue_wait_seconds_bucket{tenant="default",group="${GL}",le="30"} 1`,
      `cs_queue_wait_seconds_bucket{tenant="default",group="${GL}",le="+Inf"} 1`,
      `cs_queue_wait_seconds_sum{tenant="default",group="${GL}"} 25`,
      `cs_queue_wait_seconds_count{tenant="default",group="${GL}"} 1`,
    ])
      assert.ok(lines.includes(l), `missing line: ${l}`);
    // Every family has its HELP and TYPE lines, once.
    const types = lines.filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
    const helps = lines.filter((l) => l.startsWith('# HELP ')).map((l) => l.split(' ')[2]);
    assert.deepEqual(helps, types);
    assert.equal(new Set(types).size, types.length);
    assert.ok(types.length >= 21, `${types.length} families`);
    assert.ok(text.endsWith('\n'));
    assert.doesNotThrow(() => parseExposition(text));
  });

  it('When promtool checks the exposition, then it is valid', { skip }, () => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });
});
