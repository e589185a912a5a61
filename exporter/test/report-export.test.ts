import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import ExcelJS from 'exceljs';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { startTestExporter } from './helpers/exporter.js';
import { postEvents } from './helpers/events.js';
import type { Exporter } from '../src/exporter.js';
import { findReport } from '../src/catalog.js';
import { localTime } from '../src/reports/export.js';
import { DAY, dayEvents } from './helpers/report-fixture.js';
import { parseCsv } from './helpers/reports.js';

process.env.CS_ROLLUP_INTERVAL_SECONDS = '0';

describe('Export: CSV and XLSX with Chinese headers, the same figures as the query API', () => {
  let db: TestDatabase;
  let exporter: Exporter;
  before(async () => {
    db = await freshDatabase();
    exporter = await startTestExporter(db.url);
    assert.deepEqual((await postEvents(exporter.url, dayEvents())).body.rejected, []);
  });
  after(async () => {
    await exporter.close();
    await db.drop();
  });

  /** The query API's frame as [headers, ...cells] the way the export writes them. */
  async function expected(body: Record<string, unknown>): Promise<(string | number | null)[][]> {
    const res = await fetch(`${exporter.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const frame = ((await res.json()) as any).frames[0];
    const fields = frame.fields as { name: string; type: string; values: unknown[]; config: { displayName: string } }[];
    const n = fields[0].values.length;
    const rows: (string | number | null)[][] = [fields.map((f) => f.config.displayName)];
    for (let i = 0; i < n; i++)
      rows.push(
        fields.map((f) => {
          const v = f.values[i];
          if (v === null) return null;
          if (f.type === 'time') return localTime(v as number, 'Asia/Shanghai');
          if (f.type === 'boolean') return v ? '是' : '否';
          return v as string | number;
        }),
      );
    return rows;
  }

  const download = (qs: string) => fetch(`${exporter.url}/api/v1/export?${qs}`);

  for (const report of ['group_daily', 'agent_daily', 'sessions', 'category_top', 'ticket_detail', 'agent_log']) {
    it(`When ${report} is exported as CSV, then it has a BOM, Chinese headers and the query API's values`, async () => {
      const res = await download(`report=${report}&from=${DAY}&to=${DAY}&format=csv`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, /^text\/csv; charset=utf-8/);
      assert.match(res.headers.get('content-disposition')!, new RegExp(`attachment; filename="${report}.csv"; filename\\*=UTF-8''`));
      assert.ok(decodeURIComponent(res.headers.get('content-disposition')!).includes(`${findReport(report)!.name}_${DAY}_${DAY}.csv`));
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM for Excel');
      const csv = parseCsv(bytes.subarray(3).toString('utf8'));
      const want = await expected({ report, from: DAY, to: DAY });
      assert.ok(want.length > 1, 'the day has rows');
      assert.deepEqual(
        csv,
        want.map((r) => r.map((v) => (v === null ? '' : String(v)))),
      );
    });
  }

  it('When agent_daily is exported as XLSX, then the workbook read back holds the query API values', async () => {
    const res = await download(`report=agent_daily&from=${DAY}&to=${DAY}&format=xlsx`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await res.arrayBuffer());
    const sheet = wb.worksheets[0];
    assert.equal(sheet.name, '人工客服日统计');
    const want = await expected({ report: 'agent_daily', from: DAY, to: DAY });
    const got: (string | number | null)[][] = [];
    sheet.eachRow((row) => got.push(want[0].map((_, c) => (row.getCell(c + 1).value ?? null) as string | number | null)));
    assert.deepEqual(got, want);
    assert.equal(got[0][0], '日期');
    assert.equal(got[1][2], '张三');
  });

  it('When sessions are exported with filters, then only the matching sessions are in the file', async () => {
    const res = await download(`report=sessions&from=${DAY}&to=${DAY}&format=xlsx&satisfaction=5,1&groups=g2`);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await res.arrayBuffer());
    const ids: unknown[] = [];
    wb.worksheets[0].eachRow((row, i) => i > 1 && ids.push(row.getCell(1).value));
    assert.deepEqual(ids, ['S1', 'S7']);
    const csv = parseCsv((await (await download(`report=sessions&from=${DAY}&to=${DAY}&revisit=yes`)).text()).replace(/^\uFEFF/, ''));
    assert.deepEqual(
      csv.slice(1).map((r) => r[0]),
      ['S1'],
    );
  });

  it('When a dashboard link sends its filters at All (blanks), then the export is the unfiltered list', async () => {
    const rows = async (qs: string) => parseCsv((await (await download(qs)).text()).replace(/^\uFEFF/, '')).map((r) => r[0]);
    const all = await rows(`report=sessions&from=${DAY}&to=${DAY}`);
    assert.ok(all.length > 2);
    const blanks = await rows(`report=sessions&from=${DAY}&to=${DAY}&groups=%20&agents=%20&userId=&satisfaction=%20&category=&revisit=%20&remark=`);
    assert.deepEqual(blanks, all);
  });

  it('When an export is asked wrongly, then it answers 400 with the reason', async () => {
    const bad = async (qs: string, re: RegExp) => {
      const r = await download(qs);
      assert.equal(r.status, 400);
      assert.match(((await r.json()) as any).error, re);
    };
    await bad(`report=group_daily&from=${DAY}&to=${DAY}&format=pdf`, /format: must be csv or xlsx/);
    await bad(`report=nope&from=${DAY}&to=${DAY}`, /unknown report/);
    await bad(`report=live_agents&from=${DAY}&to=${DAY}`, /cannot be exported/);
    await bad(`report=sessions&from=${DAY}&to=${DAY}&revisit=maybe`, /revisit: must be yes or no/);
  });
});
