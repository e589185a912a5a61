// The out-of-the-box receiver of Grafana's alert notifications in docker compose: Grafana's webhook
// contact point posts here, and each alert shows as one line in `docker compose logs alert-receiver`
// and on http://localhost:9094 (newest first). It is a stand-in until CS_ALERT_WEBHOOK_URL names the
// team's real receiver (README, "Alerting"); it keeps nothing on disk.
// No dependencies: it runs on the stock node image.
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const PORT = Number(process.env.PORT ?? 8080);
const HOST = process.env.HOST ?? '0.0.0.0';
const KEEP = 500;
// Grafana batches alerts of a group into one notification; a few MiB is far beyond any real one.
const MAX_BODY = 4 * 1024 * 1024;

/** @type {string[]} */
const recent = [];

/** One readable line per alert of a Grafana webhook notification (its payload: status, alerts[] with labels and annotations). */
export function linesOf(payload, receivedAt = new Date()) {
  if (!payload || typeof payload !== 'object' || !Array.isArray(payload.alerts)) {
    throw new Error('not a Grafana webhook notification: no "alerts" array');
  }
  return payload.alerts.map((a) => {
    const labels = a && typeof a.labels === 'object' && a.labels ? a.labels : {};
    const ann = a && typeof a.annotations === 'object' && a.annotations ? a.annotations : {};
    const where = Object.entries(labels)
      .filter(([k]) => k !== 'alertname' && k !== 'grafana_folder' && !k.startsWith('__'))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const text = ann.summary ?? ann.description ?? '';
    const link = a.panelURL || a.dashboardURL || a.generatorURL || '';
    return [receivedAt.toISOString(), String(a.status ?? payload.status ?? '?'), labels.alertname ?? '?', where, text && `— ${text}`, link && `(${link})`]
      .filter(Boolean)
      .join(' ');
  });
}

export function createReceiver() {
  return createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(recent.length ? [...recent].reverse().join('\n') + '\n' : 'no alert notification received yet\n');
      return;
    }
    if (req.method !== 'POST' && req.method !== 'PUT') {
      res.writeHead(405, { Allow: 'GET, POST, PUT' }).end('method not allowed\n');
      return;
    }
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.writeHead(413).end('notification larger than 4 MiB\n');
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return;
      let lines;
      try {
        lines = linesOf(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(e instanceof SyntaxError ? 'body is not JSON\n' : `${e.message}\n`);
        return;
      }
      for (const line of lines) {
        console.log(line);
        recent.push(line);
      }
      recent.splice(0, Math.max(0, recent.length - KEEP));
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok\n');
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = createReceiver();
  server.listen(PORT, HOST, () => console.log(`alert-receiver listening on ${HOST}:${server.address().port}`));
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
}
