// The overload benchmark's baseline: an express handler that reads the body and answers, nothing
// else (no validation, no database). What this machine's Node and HTTP stack allow at most.
import express from 'express';

const app = express();
app.post('/api/v1/events', express.raw({ type: () => true, limit: '10mb' }), (_req, res) => {
  res.json({ accepted: 1, duplicates: 0, rejected: [] });
});
app.get('/api/v1/health', (_req, res) => res.json({ status: 'ok' }));
app.listen(Number(process.env.PORT), '127.0.0.1');
