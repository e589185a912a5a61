/**
 * GET /api/v1/export as the 报表 dashboards' download links call it: the range as epoch milliseconds
 * (Grafana's ${__from} / ${__to}), cut into days in CS_TIMEZONE by the rule the datasource plugin
 * applies to its panels, and every free-text or multi-value filter percent-encoded, one value per
 * parameter. See docs/reports.md, "Downloads".
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { postEvents } from './helpers/events.js';
import type { Exporter } from '../src/exporter.js';
import { DAY, dayEvents } from './helpers/report-fixture.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

// Values a user can really type or an integration can really send, holding every character that
// has a meaning in a URL query (`&` `#` `+` `%` `,` `=` `?` space) and Chinese.
const GROUP = 'g,&#+% 售后=?';
const AGENT = 'a,&#+% 客服';
const USER = 'u&#+%, 用户 1';
const CATEGORY = ['退&款#', '进度+%'];
const REMARK = '100% & #1 + 2, 好';

function hostileEvents(): Record<string, unknown>[] {
  let n = 0;
  const ev = (hm: string, e: Record<string, unknown>) => ({ id: `hx-${++n}`, time: `${DAY}T${hm}:00+08:00`, ...e });
  return [
    ev('08:00', { type: 'group.upsert', groupId: GROUP, name: '奇怪的组' }),
    ev('08:00', { type: 'agent.upsert', agentId: AGENT, name: '怪客服', workNo: '9001', groups: [GROUP] }),
    ev('09:00', { type: 'agent.status', agentId: AGENT, status: 'online' }),
    // HX1 matches every hostile filter; HX2 is in the same group with another user and nothing else.
    ev('11:00', { type: 'session.start', sessionId: 'HX1', userId: USER }),
    ev('11:00', { type: 'session.queue', sessionId: 'HX1', groupId: GROUP, via: 'direct' }),
    ev('11:01', { type: 'session.answer', sessionId: 'HX1', groupId: GROUP, agentId: AGENT }),
    ev('11:05', { type: 'session.end', sessionId: 'HX1', by: 'user' }),
    ev('11:06', { type: 'session.rate', sessionId: 'HX1', score: 2 }),
    ev('11:07', {
      type: 'session.summary',
      sessionId: 'HX1',
      agentId: AGENT,
      channel: 'online',
      category: CATEGORY,
      remark: REMARK,
    }),
    ev('11:30', { type: 'session.start', sessionId: 'HX2', userId: 'u-plain' }),
    ev('11:30', { type: 'session.queue', sessionId: 'HX2', groupId: GROUP, via: 'direct' }),
    ev('11:31', { type: 'session.answer', sessionId: 'HX2', groupId: GROUP, agentId: AGENT }),
    ev('11:35', { type: 'session.end', sessionId: 'HX2', by: 'agent' }),
  ];
}

/** What Grafana's customqueryparam / percentencode formats write for a value (encodeURIComponent, plus !'()*). */
const enc = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

describe('Export: the download links of the 报表 (epoch-ms ranges, encoded values)', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  before(async () => {
    db = await freshDatabase();
    exporter = await startTestExporter(db.url, { timezone: 'Asia/Shanghai' });
    assert.deepEqual((await postEvents(exporter.url, [...dayEvents(), ...hostileEvents()])).body.rejected, []);
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  const download = (qs: string) => fetch(`${exporter.url}/api/v1/export?${qs}`);
  /** The days a download covers, as its file name states them (报表名_from_to.csv). */
  const days = async (qs: string) => {
    const res = await download(qs);
    assert.equal(res.status, 200, await res.clone().text());
    await res.arrayBuffer();
    const name = decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(res.headers.get('content-disposition')!)![1]);
    return /_(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})/.exec(name)!.slice(1, 3);
  };
  /** Session ids (first column) of a sessions download. */
  const ids = async (qs: string) => {
    const res = await download(`report=sessions&format=csv&${qs}`);
    const text = (await res.text()).replace(/^\uFEFF/, '');
    assert.equal(res.status, 200, text);
    return text
      .trim()
      .split('\r\n')
      .slice(1)
      .map((l) => l.split(',')[0])
      .sort();
  };

  it('When the range comes as epoch milliseconds, then days are cut in CS_TIMEZONE, the end exclusive', async () => {
    // Hand-worked: 2026-11-20 in Asia/Shanghai (UTC+8) runs from 2026-11-19T16:00:00Z = 1795104000000
    // to 2026-11-20T16:00:00Z = 1795190400000. A viewer in Los Angeles (UTC-8 in November) who picks that
    // day sees it as 2026-11-19 08:00 → 2026-11-20 08:00 on the clock, so the old links'
    // ${__from:date:YYYY-MM-DD} wrote from=2026-11-19: a day the panels never showed.
    const from = Date.parse('2026-11-19T16:00:00Z');
    const to = Date.parse('2026-11-20T16:00:00Z');
    assert.equal(from, 1795104000000);
    assert.deepEqual(await days(`report=group_daily&from=${from}&to=${to}`), ['2026-11-20', '2026-11-20']);
    // Grafana's now-1d/d ends at 23:59:59.999; the same day.
    assert.deepEqual(await days(`report=group_daily&from=${from}&to=${to - 1}`), ['2026-11-20', '2026-11-20']);
    // One millisecond either side reaches into the neighbouring day.
    assert.deepEqual(await days(`report=group_daily&from=${from - 1}&to=${to}`), ['2026-11-19', '2026-11-20']);
    assert.deepEqual(await days(`report=group_daily&from=${from}&to=${to + 1}`), ['2026-11-20', '2026-11-21']);
    // A range inside one day is that day; YYYY-MM-DD still works, alone or mixed.
    assert.deepEqual(await days(`report=group_daily&from=${from + 3_600_000}&to=${from + 7_200_000}`), ['2026-11-20', '2026-11-20']);
    assert.deepEqual(await days(`report=group_daily&from=${DAY}&to=${to}`), ['2026-11-20', '2026-11-20']);
    // And the rows are those of the day asked by name.
    const byMs = await (await download(`report=sessions&format=csv&from=${from}&to=${to}`)).text();
    const byDay = await (await download(`report=sessions&format=csv&from=${DAY}&to=${DAY}`)).text();
    assert.equal(byMs, byDay);
    assert.ok(byDay.split('\r\n').length > 3);
  });

  it('When filters hold &, #, +, %, commas, spaces and Chinese, percent-encoded one per parameter, then they select exactly their rows', async () => {
    const range = `from=${DAY}&to=${DAY}`;
    assert.deepEqual(await ids(`${range}&group=${enc(GROUP)}`), ['HX1', 'HX2']);
    assert.deepEqual(await ids(`${range}&agent=${enc(AGENT)}`), ['HX1', 'HX2']);
    assert.deepEqual(await ids(`${range}&userId=${enc(USER)}`), ['HX1']);
    assert.deepEqual(await ids(`${range}&remark=${enc(REMARK)}`), ['HX1']);
    assert.deepEqual(await ids(`${range}&category=${enc(CATEGORY[0])}`), ['HX1']);
    assert.deepEqual(await ids(`${range}&category=${enc(CATEGORY.join('/'))}`), ['HX1']);
    assert.deepEqual(
      await ids(`${range}&group=${enc(GROUP)}&agent=${enc(AGENT)}&userId=${enc(USER)}&satisfaction=2&remark=${enc(REMARK)}`),
      ['HX1'],
    );
    // Several values: one parameter each, and the comma-separated form for hand-written URLs.
    const g2 = await ids(`${range}&group=g2`);
    assert.ok(g2.length > 0);
    const both = [...g2, 'HX1', 'HX2'].sort();
    assert.deepEqual(await ids(`${range}&group=${enc(GROUP)}&group=g2`), both);
    assert.deepEqual(await ids(`${range}&groups=g2&group=${enc(GROUP)}`), both);
    // The comma-separated form cannot carry this id: its comma separates.
    assert.deepEqual(await ids(`${range}&groups=${enc(GROUP)}`), []);
  });

  it('When Grafana’s proxy re-encodes the query (spaces as +), then the values are the same', async () => {
    // pkg/api/pluginproxy/utils.go addQueryString ends with req.URL.RawQuery = q.Encode(): Go's
    // url.QueryEscape, which writes a space as "+".
    const goEscape = (v: string) => enc(v).replace(/%20/g, '+');
    assert.deepEqual(await ids(`from=${DAY}&to=${DAY}&userId=${goEscape(USER)}&group=${goEscape(GROUP)}`), ['HX1']);
  });

  it('When a link sends its filters at All (blank values), then nothing is filtered', async () => {
    const all = await ids(`from=${DAY}&to=${DAY}`);
    assert.ok(all.includes('HX1') && all.includes('S1'));
    assert.deepEqual(await ids(`from=${DAY}&to=${DAY}&group=&agent=&satisfaction=&userId=&category=&revisit=%20&remark=&tenant=`), all);
    // Free text is taken as typed, as the plugin sends it: a lone space is a filter (only HX1's remark holds one), not All.
    assert.deepEqual(await ids(`from=${DAY}&to=${DAY}&remark=%20`), ['HX1']);
  });

  it('When a link is malformed, then it answers 400 naming the parameter', async () => {
    const bad = async (qs: string, re: RegExp) => {
      const r = await download(qs);
      const body = (await r.json()) as { error: string };
      assert.equal(r.status, 400, qs);
      assert.match(body.error, re);
    };
    await bad(`report=group_daily&from=yesterday&to=${DAY}`, /^from: must be a day YYYY-MM-DD or epoch milliseconds .*"yesterday"/);
    await bad(`report=group_daily&from=${DAY}&to=1795190400000.5`, /^to: must be a day YYYY-MM-DD or epoch milliseconds/);
    await bad(`report=group_daily&from=${DAY}&to=-5`, /^to: must be/);
    await bad(`report=group_daily&from=${DAY}&to=99999999999999999`, /^to: must be/);
    await bad(`report=group_daily&from=${DAY}&to=2026-02-30`, /^to: must be/);
    await bad(`report=group_daily&from=1795190400000&to=1795104000000`, /^to \(2026-11-19T16:00:00.000Z\) is before from \(2026-11-20T16:00:00.000Z\)/);
    await bad(`report=group_daily&from=${DAY}&to=${DAY}&grups=g1`, /^unknown parameter "grups"; the export takes report, from, to/);
    await bad(`report=group_daily&report=agent_daily&from=${DAY}&to=${DAY}`, /^report: given 2 times; give it once/);
    await bad(`report=sessions&from=${DAY}&to=${DAY}&satisfaction=7`, /^satisfaction: "7" is not a score 1–5/);
    await bad(`report=group_daily`, /from and to: are required/);
  });
});
