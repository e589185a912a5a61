/**
 * Idle keep-alive connections: a webhook sender's (or a reverse proxy's) pooled connection that sat
 * idle for a few seconds is still open when the next request goes out on it. With Node's default
 * 5 s the server closed it, and a request sent as it closed was reset unread. Stopping the exporter
 * still does not wait for such connections, nor for one whose request was being answered.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { useTestExporter } from './helpers/exporter.js';
import { validExamples, withCommon } from './helpers/events.js';
import { useLockHolder, waitForLockWait } from './helpers/lock-holder.js';

/** One HTTP/1.1 request on `socket`, and its answer (status and body) read by Content-Length. */
function exchange(socket: Socket, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      data = Buffer.concat([data, c]);
      const head = data.indexOf('\r\n\r\n');
      if (head < 0) return;
      const headers = data.subarray(0, head).toString();
      const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? NaN);
      if (data.length < head + 4 + length) return;
      socket.off('data', onData).off('close', onClose);
      resolve({ status: Number(headers.split(' ')[1]), body: data.subarray(head + 4, head + 4 + length).toString() });
    };
    const onClose = () => reject(new Error('the server closed the connection'));
    socket.on('data', onData).once('close', onClose);
    socket.write(
      `POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}

/** A raw TCP connection to the exporter at `url`, as a sender's pooled keep-alive connection. */
async function open(url: string): Promise<Socket> {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  await new Promise((r) => socket.once('connect', r));
  return socket;
}

describe('keep-alive connections', () => {
  const harness = useTestExporter();

  it('When a sender reuses its connection after 6 s idle, then it is still open and the webhook is stored; stopping does not wait for it', async () => {
    const socket = await open(harness.exporter.url);
    let closedAt: number | undefined;
    socket.once('close', () => (closedAt = Date.now()));

    const first = await exchange(socket, JSON.stringify(withCommon(validExamples()['session.start'])));
    assert.equal(first.status, 200, first.body);
    const idleFrom = Date.now();
    // Past Node's default keep-alive timeout (5 s), which closed the connection here.
    await new Promise((r) => setTimeout(r, 6_000));
    assert.equal(closedAt, undefined, `the server closed the idle connection after ${closedAt! - idleFrom} ms`);
    const second = await exchange(socket, JSON.stringify(withCommon(validExamples()['session.end'])));
    assert.equal(second.status, 200, second.body);
    assert.equal(JSON.parse(second.body).accepted, 1);

    // The connection is idle again: a stop closes it instead of waiting out the keep-alive time.
    const stopping = Date.now();
    await harness.exporter.close();
    assert.ok(Date.now() - stopping < 5_000, `stopping took ${Date.now() - stopping} ms with an idle connection open`);
    await new Promise((r) => (closedAt !== undefined ? r(null) : socket.once('close', r)));
    socket.destroy();
  });
});

describe('stopping with a request in flight on a keep-alive connection', () => {
  const h = useLockHolder();

  it('When the exporter stops while a webhook waits for its commit, then the webhook is answered and the stop does not wait out the keep-alive time', async () => {
    const socket = await open(h.exporter.url);
    const day = '2026-11-20T10:00:00+08:00';
    assert.equal((await exchange(socket, JSON.stringify(withCommon(validExamples()['session.start'], day)))).status, 200);
    // The next webhook's transaction waits for its day's counter row, held here, as for a slow commit.
    await h.holder.query('BEGIN');
    await h.holder.query(`SELECT 1 FROM event_days WHERE day = '2026-11-20' AND lane = 0 FOR UPDATE`);
    const answer = exchange(socket, JSON.stringify(withCommon(validExamples()['session.end'], day)));
    await waitForLockWait(h.db, 'the webhook');
    const stopping = Date.now();
    const stopped = h.exporter.close();
    await new Promise((r) => setTimeout(r, 500));
    await h.holder.query('COMMIT');
    const second = await answer;
    assert.equal(second.status, 200, second.body);
    assert.equal(JSON.parse(second.body).accepted, 1);
    await stopped;
    // Before: the connection stayed open after its answer until the 10 s forced close.
    assert.ok(Date.now() - stopping < 5_000, `stopping took ${Date.now() - stopping} ms`);
    socket.destroy();
  });
});
