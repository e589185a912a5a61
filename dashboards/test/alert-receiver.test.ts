/**
 * The compose service alert-receiver (provisioning/alert-receiver/receiver.mjs), run as compose runs
 * it (`node receiver.mjs`), receiving what Grafana's webhook contact point sends: the alert must show
 * where the README says a user sees it, in the service's log and on its page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'provisioning', 'alert-receiver', 'receiver.mjs');

/**
 * A notification as Grafana's webhook notifier posts it: the example body of Grafana's docs, "Configure
 * webhook notifications" (the Alertmanager webhook fields plus title, state, message, orgId, and per
 * alert dashboardURL, panelURL, values), filled with this project's rule.
 */
const notification = {
  receiver: '客服运营',
  status: 'firing',
  orgId: 1,
  alerts: [
    {
      status: 'firing',
      labels: { alertname: '排队量过高', grafana_folder: '客服告警', severity: 'warning', team: 'cs-ops', tenant: 'default', group: 'presales' },
      annotations: { summary: 'default / presales 当前排队量 14', description: '技能组当前排队量持续 1 分钟超过 10。' },
      startsAt: '2026-12-01T10:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://localhost:3000/alerting/grafana/cs-queue-length-high/view',
      fingerprint: '1a2b3c',
      silenceURL: 'http://localhost:3000/alerting/silence/new',
      dashboardURL: 'http://localhost:3000/d/cs-live-groups',
      panelURL: 'http://localhost:3000/d/cs-live-groups?viewPanel=2',
      values: { B: 14, C: 1 },
      valueString: "[ var='B' labels={group=presales, tenant=default} value=14 ]",
    },
  ],
  groupLabels: { alertname: '排队量过高', grafana_folder: '客服告警', tenant: 'default' },
  commonLabels: { alertname: '排队量过高' },
  commonAnnotations: {},
  externalURL: 'http://localhost:3000/',
  version: '1',
  groupKey: '{}:{alertname="排队量过高"}',
  truncatedAlerts: 0,
  title: '[FIRING:1] 排队量过高',
  state: 'alerting',
  message: '**Firing**',
};

test('alert-receiver: a Grafana webhook notification shows in its log and on its page; bad bodies get a clear 400', async (t) => {
  const child = spawn(process.execPath, [script], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGTERM'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`receiver did not start: ${out}`)), 10_000);
    child.stdout.on('data', () => {
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
  });
  const base = `http://127.0.0.1:${port}`;

  const empty = await fetch(base);
  assert.match(await empty.text(), /no alert notification received yet/);

  const res = await fetch(`${base}/grafana`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(notification) });
  assert.equal(res.status, 200);
  const page = await (await fetch(base)).text();
  for (const expected of ['firing', '排队量过高', 'tenant=default', 'group=presales', '当前排队量 14', 'viewPanel=2'])
    assert.ok(page.includes(expected), `the page shows ${expected}: ${page}`);
  assert.doesNotMatch(page, /grafana_folder/, 'Grafana-internal labels are left out');
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(out.includes('排队量过高 severity=warning team=cs-ops tenant=default group=presales — default / presales 当前排队量 14'), out);

  const bad = await fetch(`${base}/grafana`, { method: 'POST', body: '{"alerts": [' });
  assert.equal(bad.status, 400);
  assert.equal(await bad.text(), 'body is not JSON\n');
  const notGrafana = await fetch(`${base}/grafana`, { method: 'POST', body: '{"text":"hi"}' });
  assert.equal(notGrafana.status, 400);
  assert.match(await notGrafana.text(), /not a Grafana webhook notification: no "alerts" array/);
  const del = await fetch(base, { method: 'DELETE' });
  assert.equal(del.status, 405);
});
