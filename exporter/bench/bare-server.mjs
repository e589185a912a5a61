// The overload benchmark's baselines: a handler that reads the body and answers, nothing else (no
// validation, no database). BARE=express: an express route with express.raw (what the exporter's
// stack costs without its work); BARE=node: a node:http 'request' handler (what this machine's Node
// HTTP server allows at most, the honest ceiling of single-event requests).
import { createServer } from 'node:http';
import express from 'express';

const answer = JSON.stringify({ accepted: 1, duplicates: 0, rejected: [] });

let server;
if (process.env.BARE === 'node') {
  server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      Buffer.concat(chunks);
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Length', Buffer.byteLength(answer));
      res.end(answer);
    });
  });
} else {
  const app = express();
  app.post('/api/v1/events', express.raw({ type: () => true, limit: '10mb' }), (_req, res) => {
    res.json({ accepted: 1, duplicates: 0, rejected: [] });
  });
  app.get('/api/v1/health', (_req, res) => res.json({ status: 'ok' }));
  server = createServer(app);
}
server.listen(Number(process.env.PORT), '127.0.0.1');
