/**
 * The real queue_log sample (../shared/samples/asterisk-queue_log, 21 lines from a FreePBX-style
 * system, hand-edited by its project: repeated and blank lines), followed by the adapter in follow
 * mode, shows up in 监控 (/metrics) and 报表 (group_daily, group_slot, agent_daily, sessions).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import type { Exporter } from '../src/exporter.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { waitFor } from './helpers/faults.js';
import { scrape, series } from './helpers/live.js';
import { queryRows } from './helpers/reports.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

// ../shared/samples/ beside the repository root; CS_SAMPLES_DIR for a checkout elsewhere (a git worktree).
const SAMPLES = process.env.CS_SAMPLES_DIR ?? fileURLToPath(new URL('../../../shared/samples/', import.meta.url));
const SAMPLE = join(SAMPLES, 'asterisk-queue_log/asterisk2slack-test-fixtures-queue_log');
if (!existsSync(SAMPLE))
  throw new Error(`the shared sample ${SAMPLE} is missing: the tests read ../shared/samples/ beside the repository (or CS_SAMPLES_DIR)`);

// Asia/Shanghai (UTC+8): every call of the sample (2018-12-28, 16:43–20:07 UTC) falls on 2018-12-29 local.
const DAY = '2018-12-29';

describe('Asterisk queue_log: the real sample, followed', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  before(async () => {
    db = await freshDatabase();
    const base = loadConfig({});
    exporter = await startTestExporter(db.url, { asterisk: { ...base.asterisk, queueLog: SAMPLE, tenant: 'pbx' } });
  });
  after(async () => {
    await exporter?.close();
    await db?.drop();
  });

  it('When the sample is followed, then /metrics counts its lines by outcome and shows its agents', async () => {
    const item = (outcome: string) => series('cs_exporter_adapter_items_total', { adapter: 'asterisk', outcome });
    // 21 non-blank lines (the 2 blank ones are no items):
    // mapped 8: ENTERQUEUE ×2 (calls …757927, …761192), CONNECT ×3, COMPLETECALLER ×2, the first COMPLETEAGENT of …760296;
    // ignored 13: DID, RINGNOANSWER ×3, the 6 repeats of the first ENTERQUEUE, 3 more COMPLETEAGENT of a call already completed.
    const m = await waitFor('the sample to be read', async () => {
      const s = await scrape(exporter.url);
      return (s.get(item('mapped')) ?? 0) + (s.get(item('ignored')) ?? 0) === 21 ? s : undefined;
    });
    assert.equal(m.get(item('mapped')), 8);
    assert.equal(m.get(item('ignored')), 13);
    assert.equal(m.get(item('unknown')) ?? 0, 0);
    assert.equal(m.get(item('invalid')) ?? 0, 0);
    // Call …761192 was connected to Paty Marin at 20:07:57Z and its end is not in the sample: one conversation goes on in queue 201.
    // The sample is of 2018, so today's counters stay 0; what shows is its agents: Paty Marin and Vanessa
    // Flores became members of queue 201 by answering there (static members log no ADDMEMBER), and with
    // no login or pause line of theirs both are known and offline.
    assert.equal(m.get(series('cs_agents', { tenant: 'pbx', group: '201', status: 'offline' })), 2);
    assert.equal(m.get(series('cs_agents', { tenant: 'pbx', group: '201', status: 'online' })), 0);
    assert.equal(m.get(series('cs_queue_length', { tenant: 'pbx', group: '201' })), 0);
    assert.equal(m.get(series('cs_queue_length', { tenant: 'pbx', group: '201' })), 0);
  });

  it('When the day is queried, then group_daily, group_slot and agent_daily hold the four calls', async () => {
    // Calls (queue 201), local time UTC+8:            queued    answered by      wait  talk
    //   …757927  ENTERQUEUE 16:43:35Z → 00:43:35       00:43:45  Paty Marin       10 s  122 s (COMPLETECALLER 16:45:47Z)
    //   …760166  only COMPLETECALLER 19:07:00Z|10|406 → queued 03:00:04, answered 03:00:14 by Vanessa Flores, 10 s, 406 s
    //   …760296  CONNECT 19:06:16Z|6 → queued 03:06:10  03:06:16  Paty Marin        6 s  228 s (COMPLETEAGENT 19:10:04Z)
    //   …761192  ENTERQUEUE 20:07:43Z → 04:07:43       04:07:57  Paty Marin       14 s  still talking
    const g = (
      await queryRows(exporter.url, {
        report: 'group_daily',
        tenant: 'pbx',
        from: DAY,
        to: DAY,
        metrics: ['inflow', 'answered', 'direct_inflow', 'answer_rate', 'answered_20s'],
      })
    ).rows;
    // Every wait ≤ 20 s: answered_20s = 4. No mapping file: the queue is named by its own name.
    assert.deepEqual(g, [
      { date: DAY, group_id: '201', group_name: '201', inflow: 4, answered: 4, direct_inflow: 4, answer_rate: 1, answered_20s: 4 },
    ]);
    const slots = (
      await queryRows(exporter.url, { report: 'group_slot', tenant: 'pbx', from: DAY, to: DAY, metrics: ['inflow', 'answered', 'lost'] })
    ).rows;
    assert.deepEqual(
      slots.filter((r) => (r.inflow as number) > 0).map((r) => [r.hour, r.inflow, r.answered, r.lost]),
      [
        [0, 1, 1, 0],
        [3, 2, 2, 0],
        [4, 1, 1, 0],
      ],
    );
    const agents = (
      await queryRows(exporter.url, { report: 'agent_daily', tenant: 'pbx', from: DAY, to: DAY, metrics: ['answered', 'avg_talk_seconds'] })
    ).rows;
    // Paty Marin answered 3 (…757927, …760296, …761192); her ended parts last 122 s and 228 s, the open one
    // is not counted yet: (122 + 228) / 2 = 175. Vanessa Flores answered 1, talked 406 s.
    assert.deepEqual(
      agents.map((r) => [r.agent_id, r.agent_name, r.answered, r.avg_talk_seconds]),
      [
        ['Paty Marin', 'Paty Marin', 3, 175],
        ['Vanessa Flores', 'Vanessa Flores', 1, 406],
      ],
    );
  });

  it('When sessions are listed, then the caller numbers are the user ids', async () => {
    const s = (await queryRows(exporter.url, { report: 'sessions', tenant: 'pbx', from: DAY, to: DAY })).rows;
    // ENTERQUEUE's data2 is the caller id; the two calls first seen at CONNECT / COMPLETECALLER have none (anonymous).
    // 服务时长 = first answer → end: 122 s, 406 s, 228 s; the call still talking has none yet.
    assert.deepEqual(
      s.map((r) => [r.service_id, r.user_id, r.duration_seconds, r.agents, r.groups]),
      [
        ['1546015415.757927', '+13238679471', 122, 'Paty Marin', '201'],
        ['1546023604.760166', null, 406, 'Vanessa Flores', '201'],
        ['1546023970.760296', null, 228, 'Paty Marin', '201'],
        ['1546027663.761192', '+13238679475', null, 'Paty Marin', '201'],
      ],
    );
  });
});
